/*-------------------------------------------------------------------------
 *
 * fence.h
 *	  Write fencing hooks.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_FENCE_H
#define IQF_FENCE_H

extern void iqf_fence_install_hooks(void);
extern int	iqf_fence_terminate_writers(void);
extern int	iqf_fence_stop_walsenders(void);

#endif							/* IQF_FENCE_H */
