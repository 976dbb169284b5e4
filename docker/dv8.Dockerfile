# The dv8 runtime image. Build from the repository root:
#   docker build -f docker/dv8.Dockerfile -t dv8 .
# Debian's libnode is the V8 dv8 is built against, so the build stage is
# Debian; the runtime stage is alpine with glibc compatibility for libnode.
# Untested here: our machines have no Docker engine.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN apt-get update && apt-get install -y make && make deps && make -j"$(nproc)" \
    && make install PREFIX=/opt/dv8 \
    && mkdir -p /opt/dv8/deps && cp -L \
       /lib/x86_64-linux-gnu/libuv.so.1 /lib/x86_64-linux-gnu/libicu*.so.72 \
       /lib/x86_64-linux-gnu/libcares.so.2 /lib/x86_64-linux-gnu/libnghttp2.so.14 \
       /lib/x86_64-linux-gnu/libbrotli*.so.1 /lib/x86_64-linux-gnu/libssl.so.3 \
       /lib/x86_64-linux-gnu/libcrypto.so.3 /lib/x86_64-linux-gnu/libz.so.1 /opt/dv8/deps/

FROM alpine:3.19
RUN apk add --no-cache gcompat libstdc++ libgcc
COPY --from=build /opt/dv8 /opt/dv8
ENV LD_LIBRARY_PATH=/opt/dv8/lib/dv8:/opt/dv8/deps PATH=/opt/dv8/bin:$PATH
ENTRYPOINT ["dv8"]
