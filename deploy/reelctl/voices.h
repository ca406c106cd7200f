/*
 * reelctl voices: the operator's hand on the voice catalogue (the voices
 * table) that GET /v1/voices lists and tts-worker casts characters from:
 * `add` registers a vendor's voice (a Fish Audio voice model, a cloned
 * ElevenLabs voice), `list` shows them, `remove` takes one away.
 */
#ifndef REEL_CTL_VOICES_H
#define REEL_CTL_VOICES_H

struct db;

/* reelctl voices add|list|remove ...; argv[1] is "voices". The exit code. */
int voices_command(struct db *db, int argc, char **argv);

#endif
