-- reelforge schema 5: what the merge stage reads beyond version 1.
-- shots.timings is written by the tts stage once it measures them: an array
-- of {"start_ms","end_ms","text"} relative to the start of the shot's
-- narration; NULL means merge estimates the cues from the narration text and
-- duration_ms. shots.camera is the storyboard's camera hint (zoom_in,
-- zoom_out, pan_left, pan_right, pan_up, pan_down, static); migration 004
-- adds it too, hence IF NOT EXISTS; NULL lets merge vary the move by index.
ALTER TABLE shots ADD COLUMN IF NOT EXISTS timings jsonb;
ALTER TABLE shots ADD COLUMN IF NOT EXISTS camera text;
