int plugdep(void) { return 35; }
