# The dv8 SDK image: the runtime plus dv8.h and a C toolchain, to build
# native modules outside the tree (see examples/native-module/). Build from
# the repository root after the runtime image:
#   docker build -f docker/dv8-sdk.Dockerfile -t dv8-sdk .
# Untested here: our machines have no Docker engine.
FROM dv8
RUN apk add --no-cache build-base libuv-dev
ENV DV8_INCLUDE=/opt/dv8/include
WORKDIR /work
ENTRYPOINT ["/bin/sh"]
