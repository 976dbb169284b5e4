/* Run: build/tests/bench/libnode-floor (make bench times it beside
 * `dv8 -e ''` and `node -e ''`).
 * Shows: what loading Debian's libnode.so costs before any of dv8 runs. It
 * is linked to libnode (--no-as-needed keeps the link though nothing is
 * called), so the dynamic loader maps it and its libraries and applies its
 * relocations, as for dv8; then it exits. node is one static binary and
 * pays none of this. */
int main(void) { return 0; }
