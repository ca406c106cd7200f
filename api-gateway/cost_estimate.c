/*
 * A job's estimated cost and its plan's limits, from its options.
 */
#include "cost_estimate.h"

#include <string.h>

#include "json.h"
#include "banned.h"

long cost_estimate_shots(const cJSON *options)
{
	long n;
	return json_int(options, "max_shots", &n) == 0 && n > 0 ? n : COST_ESTIMATE_SHOTS;
}

/* The provider options.providers names for stage, or NULL (the stage's "*" price). */
static const char *provider_of(const cJSON *options, const char *stage)
{
	return json_str(cJSON_GetObjectItemCaseSensitive(options, "providers"), stage);
}

static bool wants_i2v(const cJSON *options)
{
	const char *motion = json_str(options, "motion");
	return motion && strcmp(motion, "i2v") == 0;
}

long cost_estimate(const struct billing *b, const cJSON *options, long shots, long merged, bool parse)
{
	long per_shot = billing_price(b, "render", provider_of(options, "render")) +
			billing_price(b, "tts", provider_of(options, "tts"));
	if (wants_i2v(options))
		per_shot += billing_price(b, "i2v", provider_of(options, "render"));
	long minutes = (merged * COST_ESTIMATE_SHOT_S + 59) / 60;
	long total = shots * per_shot + minutes * billing_price(b, "merge", provider_of(options, "merge"));
	if (parse)
		total += billing_price(b, "parse", provider_of(options, "parse"));
	return total + (total * b->reserve_margin_pct + 99) / 100;
}

const struct billing_plan *cost_estimate_plan(const struct billing *b, const char *name)
{
	const struct billing_plan *pl = name ? billing_plan(b, name) : NULL;
	return pl ? pl : billing_plan(b, "free");
}

/* Absent options the workers would default past the plan take the plan's
 * cap instead: a job sent without them is made within the plan, not refused. */
static void fill_defaults(const struct billing_plan *pl, cJSON *options)
{
	if (!cJSON_GetObjectItemCaseSensitive(options, "resolution") && pl->max_height < 1080)
		cJSON_AddStringToObject(options, "resolution", "720p");
	if (!cJSON_GetObjectItemCaseSensitive(options, "max_shots") && pl->max_shots < COST_ESTIMATE_SHOTS)
		cJSON_AddNumberToObject(options, "max_shots", (double)pl->max_shots);
}

int cost_estimate_limits(const struct billing_plan *pl, cJSON *options, struct api_problem *p)
{
	fill_defaults(pl, options);
	const char *res = json_str(options, "resolution");
	long shots = cost_estimate_shots(options);
	if (res && strcmp(res, "1080p") == 0 && pl->max_height < 1080)
		return api_problem_set(p, 403, "plan-limit", "The plan does not allow this", "options.resolution",
				       "the %s plan allows up to %dp (limit max_resolution)", pl->name, pl->max_height);
	if (shots > pl->max_shots)
		return api_problem_set(p, 403, "plan-limit", "The plan does not allow this", "options.max_shots",
				       "the %s plan allows up to %ld shots and the job may plan %ld (limit max_shots); "
				       "set options.max_shots",
				       pl->name, pl->max_shots, shots);
	if (wants_i2v(options) && !pl->i2v)
		return api_problem_set(p, 403, "plan-limit", "The plan does not allow this", "options.motion",
				       "the %s plan does not animate shots (limit i2v); use motion still", pl->name);
	return 0;
}
