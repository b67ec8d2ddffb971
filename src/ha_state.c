/*-------------------------------------------------------------------------
 *
 * ha_state.c
 *	  Failover state: durable file, shared memory, and the write check
 *	  every backend runs.
 *
 * Durable state (term, the vote given in it, the pause flag and the node
 * registry) lives in $PGDATA/innoquim_failover.state, rewritten atomically
 * (temporary file, fsync, durable rename) under the HA lock before any reply
 * that depends on it, so a restarted voter never votes twice in one term.
 * It is loaded into shared memory at server start (in the postmaster).  A
 * file copied by pg_basebackup from another node keeps its term (terms only
 * grow) but not that node's vote.
 *
 * The write check (iqf_ha_writes_allowed) reads three atomics and the
 * CLOCK_BOOTTIME clock, so that a backend frozen and resumed judges the
 * lease by the clock itself rather than by a flag someone forgot to clear.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "ha_state.h"
#include "innoquim_failover.h"

IqfHa	   *iqf_ha = NULL;

int64
iqf_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

Size
iqf_ha_shmem_size(void)
{
	return MAXALIGN(sizeof(IqfHa));
}

void
iqf_ha_require(void)
{
	iqf_state_require();
	if (iqf_ha == NULL)
		elog(ERROR, "innoquim_failover: failover state not initialized");
}

int
iqf_ha_voter_count(const IqfDurable *d)
{
	return d->n_nodes;
}

const IqfRegistryNode *
iqf_ha_find_node(const IqfDurable *d, const char *name)
{
	int			i;

	for (i = 0; i < d->n_nodes; i++)
		if (strcmp(d->nodes[i].name, name) == 0)
			return &d->nodes[i];
	return NULL;
}

/* Registry as text: "version\n" then "name\tkind\tconninfo\n" per node. */
void
iqf_ha_registry_serialize(const IqfDurable *d, StringInfo out)
{
	int			i;

	appendStringInfo(out, UINT64_FORMAT "\n", d->registry_version);
	for (i = 0; i < d->n_nodes; i++)
		appendStringInfo(out, "%s\t%s\t%s\n", d->nodes[i].name, d->nodes[i].kind,
						 d->nodes[i].conninfo);
}

/* Parse what iqf_ha_registry_serialize wrote; false when malformed. */
bool
iqf_ha_registry_parse(const char *text, IqfDurable *d)
{
	char	   *copy = pstrdup(text);
	char	   *save = NULL;
	char	   *line;
	bool		first = true;

	d->n_nodes = 0;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *t1,
				   *t2;
		IqfRegistryNode *n;

		if (first)
		{
			d->registry_version = strtou64(line, NULL, 10);
			first = false;
			continue;
		}
		t1 = strchr(line, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t1 || !t2 || d->n_nodes >= IQF_MAX_NODES)
			return false;
		n = &d->nodes[d->n_nodes++];
		*t1 = *t2 = '\0';
		strlcpy(n->name, line, sizeof(n->name));
		strlcpy(n->kind, t1 + 1, sizeof(n->kind));
		strlcpy(n->conninfo, t2 + 1, sizeof(n->conninfo));
	}
	pfree(copy);
	return !first;
}

/*
 * Write the durable state atomically.  Caller holds the HA lock in exclusive
 * mode.  Throws on I/O failure: a reply must not be sent if its premise
 * could not be made durable.
 */
void
iqf_ha_save_durable(const IqfDurable *d)
{
	StringInfoData buf;
	char		tmp[MAXPGPATH];
	FILE	   *f;

	if (iqf_ha && iqf_ha->state_unreadable)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("innoquim_failover: the failover state file \"%s\" could not be read at start; it is not overwritten",
						IQF_STATE_FILE),
				 errhint("Repair or remove it (see the server log at start), then restart.")));
	initStringInfo(&buf);
	appendStringInfo(&buf, "# innoquim_failover durable state: do not edit\n");
	appendStringInfo(&buf, "owner %s\nterm " UINT64_FORMAT "\nvoted_for %s\nincarnation " UINT64_FORMAT "\npaused %d\n",
					 d->owner, d->term, d->voted_for, d->incarnation, d->paused ? 1 : 0);
	appendStringInfo(&buf, "registry ");
	iqf_ha_registry_serialize(d, &buf);

	snprintf(tmp, sizeof(tmp), "%s.tmp", IQF_STATE_FILE);
	f = AllocateFile(tmp, PG_BINARY_W);
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	if (fwrite(buf.data, 1, buf.len, f) != (size_t) buf.len || fflush(f) != 0 ||
		pg_fsync(fileno(f)) != 0)
	{
		int			save_errno = errno;

		FreeFile(f);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	}
	if (FreeFile(f) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", tmp)));
	(void) durable_rename(tmp, IQF_STATE_FILE, ERROR);
	pfree(buf.data);
}

/*
 * Make `d` this node's durable state: written first (this node as owner),
 * then published in shared memory.  A new vote drops the death certificate
 * (R15); a newer term adopted with no vote keeps it (no grant was made).
 * Caller holds the HA lock exclusively.
 */
void
iqf_ha_set_durable(IqfDurable *d)
{
	bool		adopted_only = d->term > iqf_ha->durable.term && d->voted_for[0] == '\0';

	if (!adopted_only &&
		(d->term != iqf_ha->durable.term || strcmp(d->voted_for, iqf_ha->durable.voted_for) != 0))
		iqf_ha->cert = false;
	iqf_node_name(d->owner, sizeof(d->owner));
	iqf_ha_save_durable(d);
	iqf_ha->durable = *d;
}

/*
 * Read the durable file, if any, into d.  Runs in the postmaster.  Returns
 * false when the file exists but cannot be read or has no valid term: R2,
 * such a node must not be taken for a new one (term 0, no vote), which
 * could vote twice in a term.
 */
static bool
load_durable(IqfDurable *d, const char *self)
{
	FILE	   *f = AllocateFile(IQF_STATE_FILE, PG_BINARY_R);
	StringInfoData all;
	char		line[IQF_CONNINFO_LEN + 2 * IQF_NODE_NAME_LEN];
	char		owner[IQF_NODE_NAME_LEN] = "";
	char	   *reg;

	bool		have_term = false;
	bool		term_ok = true;

	memset(d, 0, sizeof(*d));
	strlcpy(d->owner, self, sizeof(d->owner));
	if (f == NULL)
		return errno == ENOENT;
	initStringInfo(&all);
	while (fgets(line, sizeof(line), f))
		appendStringInfoString(&all, line);
	FreeFile(f);

	reg = strstr(all.data, "\nregistry ");
	if (reg)
	{
		*reg = '\0';
		if (!iqf_ha_registry_parse(reg + strlen("\nregistry "), d))
			ereport(LOG,
					(errmsg("innoquim_failover: ignoring malformed registry in \"%s\"",
							IQF_STATE_FILE)));
	}
	{
		char	   *save = NULL;
		char	   *l;

		for (l = strtok_r(all.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		{
			if (strncmp(l, "owner ", 6) == 0)
				strlcpy(owner, l + 6, sizeof(owner));
			else if (strncmp(l, "term ", 5) == 0)
			{
				char	   *end = NULL;

				errno = 0;
				d->term = strtou64(l + 5, &end, 10);
				have_term = true;
				term_ok = errno == 0 && end != l + 5 && *end == '\0';
			}
			else if (strncmp(l, "voted_for ", 10) == 0)
				strlcpy(d->voted_for, l + 10, sizeof(d->voted_for));
			else if (strncmp(l, "incarnation ", 12) == 0)
				d->incarnation = strtou64(l + 12, NULL, 10);
			else if (strncmp(l, "paused ", 7) == 0)
				d->paused = atoi(l + 7) != 0;
		}
	}
	/* a copy from another node (base backup): keep the term, not its vote */
	if (strcmp(owner, self) != 0)
		d->voted_for[0] = '\0';
	pfree(all.data);
	return have_term && term_ok;
}

/* Called from the shared-memory startup hook, under AddinShmemInitLock. */
void
iqf_ha_shmem_init(void)
{
	bool		found;
	char		self[IQF_NAME_LEN];

	iqf_ha = ShmemInitStruct("innoquim_failover ha", iqf_ha_shmem_size(), &found);
	if (found)
		return;
	memset(iqf_ha, 0, sizeof(IqfHa));
	iqf_ha->lock = &(GetNamedLWLockTranche("innoquim_failover"))[1].lock;
	pg_atomic_init_u32(&iqf_ha->enforce, 0);
	pg_atomic_init_u32(&iqf_ha->superseded, 0);
	pg_atomic_init_u64(&iqf_ha->lease_expiry_mono, 0);
	pg_atomic_init_u32(&iqf_ha->first_write_pending, 0);
	strlcpy(iqf_ha->phase, "idle", sizeof(iqf_ha->phase));

	iqf_node_name(self, sizeof(self));
	if (!load_durable(&iqf_ha->durable, self))
	{
		/* R2: refuse every LEASE and VOTE; never overwrite the evidence */
		iqf_ha->state_unreadable = true;
		memset(&iqf_ha->durable, 0, sizeof(iqf_ha->durable));
		strlcpy(iqf_ha->durable.owner, self, sizeof(iqf_ha->durable.owner));
		ereport(WARNING,
				(errmsg("innoquim_failover: the failover state file \"%s\" cannot be read; this node refuses every lease and vote",
						IQF_STATE_FILE),
				 errdetail("Read as a new node, it could vote twice in a term."),
				 errhint("Restore the file from a backup of this node, or remove it only once the cluster has moved to a term newer than any this node could have voted in, then restart.")));
	}

	/*
	 * A data node that is part of a cluster of three or more voters starts
	 * with the lease enforced and no lease, whatever its auto_failover
	 * setting (the lease is the cluster's, and the agent enforces it the
	 * same way): if it comes up as a primary it is fenced until a majority
	 * of voters grants it a lease, so a former primary that restarts after
	 * a failover never accepts a write.
	 */
	if (!iqf_ha_is_witness() &&
		iqf_failover_enabled_for(iqf_ha_voter_count(&iqf_ha->durable)))
		pg_atomic_write_u32(&iqf_ha->enforce, 1);
	/* the restart counts as a grant: never vote right after starting (R12) */
	iqf_ha->start_mono = iqf_mono_us();
	iqf_ha->last_grant_mono = iqf_ha->start_mono;

	/*
	 * R6: a data node's incarnation grows at every postmaster start (and
	 * every crash restart, which re-creates shared memory), durably before
	 * the agent sends anything, so leases and death certificates of a
	 * previous life are told apart (A1).  A voter that granted incarnation
	 * i refuses LEASEs of older ones and ignores their DEAD.
	 */
	if (!iqf_ha_is_witness() && !iqf_ha->state_unreadable)
	{
		uint64		wall_ms = (uint64) (GetCurrentTimestamp() / 1000);

		/*
		 * +1 is what safety needs.  The wall clock (ms since 2000) only
		 * helps liveness: a node rebuilt with pg_basebackup gets the source
		 * node's file, whose counter may be below this node's earlier
		 * incarnations, which voters remember (stale_incarnation).
		 */
		iqf_ha->durable.incarnation = Max(iqf_ha->durable.incarnation + 1, wall_ms);
		strlcpy(iqf_ha->durable.owner, self, sizeof(iqf_ha->durable.owner));
		iqf_ha_save_durable(&iqf_ha->durable);
	}
}

bool
iqf_ha_is_witness(void)
{
	return iqf_node_kind_witness;
}

/*
 * May this backend write?  Standbys are read-only anyway; a primary under
 * lease enforcement writes only before its lease expires and only if no
 * newer term exists.
 */
bool
iqf_ha_writes_allowed(void)
{
	if (iqf_ha == NULL || RecoveryInProgress())
		return true;

	/*
	 * Superseded wins over everything, enforcement included: a node that
	 * learnt of a newer term never writes again, whatever its registry says
	 * (a registry shrunk below three voters switches enforcement off).
	 */
	if (pg_atomic_read_u32(&iqf_ha->superseded) != 0)
		return false;
	if (pg_atomic_read_u32(&iqf_ha->enforce) == 0)
		return true;
	return iqf_mono_us() < (int64) pg_atomic_read_u64(&iqf_ha->lease_expiry_mono);
}

/*
 * This node is the primary that holds the cluster's write lease, or a
 * primary of a cluster without a lease (fewer than three voters) that was
 * never superseded.  Membership and pause changes are accepted only here:
 * anywhere else they could lift the fencing of a deposed node.
 */
bool
iqf_ha_is_lease_holder(void)
{
	if (iqf_ha == NULL || RecoveryInProgress() || iqf_ha_is_witness())
		return false;
	if (pg_atomic_read_u32(&iqf_ha->superseded) != 0)
		return false;
	return iqf_ha_writes_allowed();
}

/* primary, standby, witness or fenced. */
const char *
iqf_ha_role_name(bool in_recovery)
{
	if (iqf_ha_is_witness())
		return "witness";
	if (in_recovery)
		return "standby";
	return iqf_ha_writes_allowed() ? "primary" : "fenced";
}
