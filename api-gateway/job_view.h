/*
 * The job resource as the API shows it (GET /v1/jobs/{id}, list items, SSE snapshots).
 */
#ifndef REEL_JOB_VIEW_H
#define REEL_JOB_VIEW_H

#include <stddef.h>

#include "json.h"

struct daemon;

/* The job resource as JSON text for job id of owner, or NULL when owner has
 * no such job (*found = 0: another user's job does not exist for them) or the
 * database failed (*found = -1). The caller frees. */
char *job_view_render(struct daemon *d, const char *id, const char *owner, int *found);
/* Progress percent of a job: parse a tenth, the shots most, the merge the rest. */
int job_view_percent(const char *status, int total, int ready);
/* Adds the job's "cost" {reserved, captured} to o: only for a job that
 * reserved credits (billing on). */
void job_view_add_cost(cJSON *o, long reserved, long captured);
/* The resource of a job just created (queued, no shots yet), without a
 * database round trip; reserved (< 0: none, billing off) is its cost's
 * reservation. The caller frees. */
char *job_view_new(const char *id, const char *template, const cJSON *options, const char *created_at, long reserved);

#endif
