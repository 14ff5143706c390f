/* gp.h: grace periods for user space writers of BPF-read memory; libwcard internal. */
#ifndef WCARD_GP_H
#define WCARD_GP_H

/*
 * An update of an ARRAY_OF_MAPS element returns only after every BPF program
 * that was running has finished (the kernel calls synchronize_rcu): after
 * gp_wait(), no lookup that began before it is still reading.
 */
struct gp {
	int outer, inner; /* -1 until first use */
};

void gp_init(struct gp *g);
int gp_wait(struct gp *g); /* 0 or -errno; ~8 ms here */
void gp_free(struct gp *g);

#endif /* WCARD_GP_H */
