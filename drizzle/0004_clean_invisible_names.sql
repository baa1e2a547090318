-- Room names may no longer hold bidi controls or invisible characters (0005 adds the check;
-- lib/validation.ts names the set). Names stored before lose those characters here, so the
-- check can be added. A name that would then be empty, or would take the name of another live
-- room (names are unique ignoring case), becomes "Room <first 8 characters of its id>". Each
-- renamed room gets a new version, so caches and the reconciler see a change.
WITH cleaned AS (
	SELECT "id", "deleted_at", normalize(btrim(regexp_replace("name", '[\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]', '', 'g')), NFC) AS "clean"
	FROM "rooms"
	WHERE "name" ~ '[\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]'
)
UPDATE "rooms" AS r
SET "name" = CASE
		WHEN c."clean" = '' OR (r."deleted_at" IS NULL AND (
			EXISTS (SELECT 1 FROM "rooms" o WHERE o."deleted_at" IS NULL AND o."id" <> r."id" AND lower(o."name") = lower(c."clean"))
			OR EXISTS (SELECT 1 FROM cleaned o WHERE o."deleted_at" IS NULL AND o."id" <> r."id" AND lower(o."clean") = lower(c."clean"))
		)) THEN 'Room ' || left(r."id"::text, 8)
		ELSE c."clean"
	END,
	"version" = nextval('room_version_seq'),
	"updated_at" = now()
FROM cleaned c
WHERE r."id" = c."id";
