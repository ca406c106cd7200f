-- Version 7, the render stage with asynchronous vendors: one seed per job
-- (a shot may ask for its own), and what the webhook receiver and its
-- sweeper need to finish, poll, retry and cancel a vendor task.

-- Drawn once when the job is created, so every shot of a job shares it.
ALTER TABLE jobs ADD COLUMN seed bigint NOT NULL DEFAULT floor(random() * 2147483647)::bigint;
-- NULL: the job's seed.
ALTER TABLE shots ADD COLUMN seed bigint;

-- kind: 'image' (the keyframe) or 'video' (image-to-video clip).
-- status: submitted -> done | failed | canceled, or retry (waiting until
-- deadline to be sent again) -> retried.
-- meta: the vendor's URLs for this task (get, status, result, cancel) and
-- what the sweeper needs to poll it.
ALTER TABLE provider_tasks ADD COLUMN kind text NOT NULL DEFAULT 'image' CHECK (kind IN ('image', 'video'));
ALTER TABLE provider_tasks ADD COLUMN meta jsonb NOT NULL DEFAULT '{}';
ALTER TABLE provider_tasks ADD COLUMN error jsonb;
ALTER TABLE provider_tasks ADD CONSTRAINT provider_tasks_status CHECK (status IN
	('submitted', 'done', 'failed', 'canceled', 'retry', 'retried'));

-- The sweeper's two questions: which open tasks are overdue, and which open
-- tasks belong to jobs that ended.
CREATE INDEX provider_tasks_open ON provider_tasks (deadline) WHERE status IN ('submitted', 'retry');
CREATE INDEX provider_tasks_shot ON provider_tasks (job_id, shot);
