/*
 * A task's verdict as a stage states it: its error code and words, and
 * whether it succeeded, failed or should be retried (worker.h documents each).
 */
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "str.h"
#include "worker_int.h"
#include "banned.h"

void worker_task_log(const struct task *t)
{
	log_set_ctx(&((const struct item *)t)->log);
}

static void set_error(struct task *t, const char *code, const char *fmt, va_list ap) PRINTF_LIKE(3, 0);

static void set_error(struct task *t, const char *code, const char *fmt, va_list ap)
{
	str_copy(t->error_code, code, sizeof(t->error_code));
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
}

enum work_result worker_task_fail(struct task *t, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error(t, code, fmt, ap);
	va_end(ap);
	return t->result = WORK_FAIL;
}

void worker_task_verdict(struct task *t, enum work_result result, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error(t, code, fmt, ap);
	va_end(ap);
	t->result = result;
	worker_task_done(t);
}
