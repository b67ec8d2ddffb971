/*-------------------------------------------------------------------------
 *
 * sampler.h
 *	  Read the node's own replication state from the server's shared memory.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_SAMPLER_H
#define IQF_SAMPLER_H

#include "state.h"

extern void iqf_sampler_sample(IqfSnapshot *snap);

#endif							/* IQF_SAMPLER_H */
