int plugdep(void);
int plug(void) { return plugdep() + 7; }
