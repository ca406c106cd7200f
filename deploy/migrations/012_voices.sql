-- Version 12, voices that exist: the espeak-ng voices seeded in 003 under
-- names libespeak-ng 1.51 does not load (en-gb, fr-fr, de-de, es-es, ja-jp
-- and their variants) take the names it does, the English catalogue gains
-- enough variants to give a screenplay's speakers distinct voices, each
-- voice says whether it loads here, and each shot says who spoke it.

-- false: tts-worker found that the installed espeak-ng cannot load the voice
-- (checked at start and whenever the catalogue is read again), so GET
-- /v1/voices does not list it and casting does not use it.
ALTER TABLE voices ADD COLUMN IF NOT EXISTS available boolean NOT NULL DEFAULT true;

-- The voice a shot was spoken with, written with its audio, as the job
-- resource shows it: {"provider","id"}, provider espeak for the offline
-- voices, id null for the vendor's default. NULL until the shot is spoken.
ALTER TABLE shots ADD COLUMN IF NOT EXISTS voice jsonb;

-- espeak-ng names its voices by file: British English is en (or the
-- Received Pronunciation en-gb-x-rp), French fr, German de, Spanish es,
-- Japanese ja. The language tags stay as they were.
UPDATE voices v SET id = r.new_id, description = r.description
FROM (VALUES
	('en-gb+m3', 'en-gb-x-rp+m3', 'espeak-ng en-gb-x-rp (Received Pronunciation) with the m3 variant'),
	('en-gb+f3', 'en-gb-x-rp+f3', 'espeak-ng en-gb-x-rp (Received Pronunciation) with the f3 variant'),
	('fr-fr+m3', 'fr+m3', 'espeak-ng fr with the m3 variant'),
	('fr-fr+f3', 'fr+f3', 'espeak-ng fr with the f3 variant'),
	('de-de+m3', 'de+m3', 'espeak-ng de with the m3 variant'),
	('de-de+f3', 'de+f3', 'espeak-ng de with the f3 variant'),
	('es-es+m3', 'es+m3', 'espeak-ng es with the m3 variant'),
	('es-es+f3', 'es+f3', 'espeak-ng es with the f3 variant'),
	('ja-jp+f3', 'ja+f3', 'espeak-ng ja with the f3 variant')
) AS r(old_id, new_id, description)
WHERE v.provider = 'espeak' AND v.id = r.old_id
  AND NOT EXISTS (SELECT 1 FROM voices x WHERE x.provider = 'espeak' AND x.id = r.new_id);

INSERT INTO voices (provider, id, name, language, gender, description) VALUES
	('espeak', 'en-us+f1', 'English (US), female 1', 'en-US', 'female', 'espeak-ng en-us with variant f1'),
	('espeak', 'en-us+f4', 'English (US), female 4', 'en-US', 'female', 'espeak-ng en-us with variant f4'),
	('espeak', 'en-us+f5', 'English (US), female 5', 'en-US', 'female', 'espeak-ng en-us with variant f5'),
	('espeak', 'en-us+m1', 'English (US), male 1',   'en-US', 'male',   'espeak-ng en-us with variant m1'),
	('espeak', 'en-us+m2', 'English (US), male 2',   'en-US', 'male',   'espeak-ng en-us with variant m2'),
	('espeak', 'en-us+m4', 'English (US), male 4',   'en-US', 'male',   'espeak-ng en-us with variant m4'),
	('espeak', 'en-us+m5', 'English (US), male 5',   'en-US', 'male',   'espeak-ng en-us with variant m5'),
	('espeak', 'en-us+m6', 'English (US), male 6',   'en-US', 'male',   'espeak-ng en-us with variant m6'),
	('espeak', 'en-gb-x-rp+f2', 'British English, female 2', 'en-GB', 'female', 'espeak-ng en-gb-x-rp (Received Pronunciation) with variant f2'),
	('espeak', 'en-gb-x-rp+m7', 'British English, male 7',   'en-GB', 'male',   'espeak-ng en-gb-x-rp (Received Pronunciation) with variant m7'),
	('espeak', 'fr+f2', 'French, female 2', 'fr-FR', 'female', 'espeak-ng fr with variant f2'),
	('espeak', 'de+m7', 'German, male 7',   'de-DE', 'male',   'espeak-ng de with variant m7'),
	('espeak', 'es+f2', 'Spanish, female 2', 'es-ES', 'female', 'espeak-ng es with variant f2'),
	('espeak', 'ja+m3', 'Japanese, male',   'ja-JP', 'male',   'espeak-ng ja with the m3 variant')
ON CONFLICT DO NOTHING;
