-- Version 6, voices: the timings of each shot's narration for subtitles, and
-- the voice catalogue of the speech vendors (the table also holds the
-- offline espeak-ng voices; whoever creates it first, the definition is the same).

-- [{"start_ms","end_ms","text"}] relative to the start of the shot's audio;
-- NULL: merge estimates timings from the narration and duration_ms.
ALTER TABLE shots ADD COLUMN IF NOT EXISTS timings jsonb;

CREATE TABLE IF NOT EXISTS voices (
	provider    text NOT NULL,
	id          text NOT NULL,
	name        text NOT NULL,
	language    text NOT NULL,
	gender      text,
	description text,
	PRIMARY KEY (provider, id)
);

-- tts-worker casts characters from these rows in (provider, id) order; an
-- operator adds a vendor's further voices (Fish Audio voice models, cloned
-- ElevenLabs voices) with rows of their own.
INSERT INTO voices (provider, id, name, language, gender, description) VALUES
	('openai', 'alloy',   'Alloy',   'en', NULL,     'neutral, balanced; speaks the language of the text'),
	('openai', 'ash',     'Ash',     'en', 'male',   'clear, direct; speaks the language of the text'),
	('openai', 'coral',   'Coral',   'en', 'female', 'warm, friendly; speaks the language of the text'),
	('openai', 'echo',    'Echo',    'en', 'male',   'smooth, resonant; speaks the language of the text'),
	('openai', 'fable',   'Fable',   'en', 'male',   'expressive storyteller; speaks the language of the text'),
	('openai', 'nova',    'Nova',    'en', 'female', 'bright, energetic; speaks the language of the text'),
	('openai', 'onyx',    'Onyx',    'en', 'male',   'deep, authoritative; speaks the language of the text'),
	('openai', 'sage',    'Sage',    'en', 'female', 'calm, measured; speaks the language of the text'),
	('openai', 'shimmer', 'Shimmer', 'en', 'female', 'soft, gentle; speaks the language of the text'),
	('elevenlabs', '21m00Tcm4TlvDq8ikWAM', 'Rachel', 'en', 'female', 'calm narration (premade)'),
	('elevenlabs', 'AZnzlk1XvdvUeBnXmlld', 'Domi',   'en', 'female', 'strong (premade)'),
	('elevenlabs', 'EXAVITQu4vr4xnSDxMaL', 'Bella',  'en', 'female', 'soft (premade)'),
	('elevenlabs', 'ErXwobaYiN019PkySvjV', 'Antoni', 'en', 'male',   'well-rounded (premade)'),
	('elevenlabs', 'MF3mGyEYCl7XYWbV9V3O', 'Elli',   'en', 'female', 'emotional (premade)'),
	('elevenlabs', 'TxGEqnHWrfWFTfGW9XjX', 'Josh',   'en', 'male',   'deep (premade)'),
	('elevenlabs', 'VR6AewLTigWG4xSOukaG', 'Arnold', 'en', 'male',   'crisp (premade)'),
	('elevenlabs', 'pNInz6obpgDQGcFmaJgB', 'Adam',   'en', 'male',   'deep narration (premade)'),
	('elevenlabs', 'yoZ06aMxZJJ28mfd3POQ', 'Sam',    'en', 'male',   'raspy (premade)'),
	('espeak', 'en-us+f3', 'English (US), female 3', 'en-US', 'female', 'espeak-ng en-us with variant f3'),
	('espeak', 'en-us+m3', 'English (US), male 3',   'en-US', 'male',   'espeak-ng en-us with variant m3'),
	('espeak', 'en-us+f2', 'English (US), female 2', 'en-US', 'female', 'espeak-ng en-us with variant f2'),
	('espeak', 'en-us+m7', 'English (US), male 7',   'en-US', 'male',   'espeak-ng en-us with variant m7'),
	('espeak', 'cmn+f3',   'Mandarin, female 3',     'cmn', 'female', 'espeak-ng cmn with variant f3'),
	('espeak', 'cmn+m3',   'Mandarin, male 3',       'cmn', 'male',   'espeak-ng cmn with variant m3'),
	('espeak', 'cmn+f2',   'Mandarin, female 2',     'cmn', 'female', 'espeak-ng cmn with variant f2'),
	('espeak', 'cmn+m7',   'Mandarin, male 7',       'cmn', 'male',   'espeak-ng cmn with variant m7')
ON CONFLICT DO NOTHING;
