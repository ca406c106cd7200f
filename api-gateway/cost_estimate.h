/*
 * What a job is expected to cost in credits before it runs, from the price
 * table (common/billing.h) and the job's options: the reservation a create,
 * a regenerate or a retry makes. Plan limits checked at create live here
 * too, since they read the same options. Pure: no database, no I/O.
 */
#ifndef REEL_COST_ESTIMATE_H
#define REEL_COST_ESTIMATE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "api_problem.h"
#include "billing.h"
#include "util.h"

#define COST_ESTIMATE_SHOTS 12  /* parse-worker's default options.max_shots */
#define COST_ESTIMATE_SHOT_S 15 /* the longest shot parse-worker plans, in seconds */

/* The shots a job with options may plan: options.max_shots or the default. */
long cost_estimate_shots(const cJSON *options);
/* Credits to reserve for making shots shots of a job with options and
 * merging merged shots, with parse when the text is still to be split: per
 * shot its render (the job's render provider), its clip when options.motion
 * is i2v and its speech, then the merge per started minute of merged x
 * COST_ESTIMATE_SHOT_S seconds; plus b->reserve_margin_pct percent, rounded up. */
long cost_estimate(const struct billing *b, const cJSON *options, long shots, long merged, bool parse);
/* The plan an owner on plan name is held to: the plan, or "free" when the
 * file has no such plan. */
const struct billing_plan *cost_estimate_plan(const struct billing *b, const char *name);
/* Refuses (403 plan-limit, field naming the option) options that exceed
 * plan pl: resolution, max_shots, motion i2v. An absent resolution or
 * max_shots whose default exceeds the plan is set to the plan's cap. 0 when
 * within it. */
int cost_estimate_limits(const struct billing_plan *pl, cJSON *options, struct api_problem *p) WARN_UNUSED;

#endif
