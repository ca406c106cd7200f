/*
 * The per-stage part of the job resource: how far parse, render, tts and
 * merge are ("progress.stages") and when each was asked for, began and
 * finished ("timings"), read from the shots and the job_events log.
 */
#ifndef REEL_JOB_STAGES_H
#define REEL_JOB_STAGES_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "util.h"

struct db;

/* Adds progress.stages and timings to job (which has "progress"), for job id
 * in status, whose shot rows are shots (status in column 1). 0 or -1 when
 * the database failed. */
int job_stages_add(struct db *db, const char *id, const char *status, PGresult *shots, cJSON *job) WARN_UNUSED;

/* The same for a job just created: every stage waiting, parse asked for at created_at. */
void job_stages_add_new(cJSON *job, const char *created_at);

#endif
