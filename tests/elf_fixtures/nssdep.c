int nssdep(void) { return 1; }
