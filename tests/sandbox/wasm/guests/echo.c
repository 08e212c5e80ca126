/* A core-module extension in C: `echo` returns its input. Built by the tests with
 * python -m ziglang cc --target=wasm32-wasi -nostdlib -O2 -Wl,--no-entry -o echo.wasm echo.c */
static unsigned char heap[1 << 16];
static unsigned int top;

__attribute__((export_name("symphony_alloc"))) unsigned char *symphony_alloc(int size) {
    unsigned char *at = heap + top;
    top += (size + 7) & ~7;
    return at;
}

__attribute__((export_name("symphony_reset"))) void symphony_reset(void) { top = 0; }

__attribute__((export_name("symphony_invoke"))) int symphony_invoke(char *op, int op_len, char *in, int in_len,
                                                                     int *ret) {
    static const char unknown[] = "unknown operation; this module offers echo";
    if (op_len == 4 && op[0] == 'e' && op[1] == 'c' && op[2] == 'h' && op[3] == 'o') {
        ret[0] = (int)in;
        ret[1] = in_len;
        return 0;
    }
    ret[0] = (int)unknown;
    ret[1] = sizeof unknown - 1;
    return 1;
}
