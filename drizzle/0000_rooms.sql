CREATE SEQUENCE "public"."room_version_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "rooms" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"owner_id" text NOT NULL,
	"owner_name" text NOT NULL,
	"version" bigint DEFAULT nextval('room_version_seq') NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "rooms_name_valid" CHECK (char_length("rooms"."name") between 1 and 64 and "rooms"."name" = btrim("rooms"."name") and "rooms"."name" is nfc normalized and "rooms"."name" !~ '[[:cntrl:]]'),
	CONSTRAINT "rooms_description_valid" CHECK (char_length("rooms"."description") <= 280 and "rooms"."description" = btrim("rooms"."description") and "rooms"."description" !~ '[[:cntrl:]]'),
	CONSTRAINT "rooms_owner_name_valid" CHECK (char_length("rooms"."owner_name") between 1 and 32)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "rooms_name_lower_live_idx" ON "rooms" USING btree (lower("name")) WHERE "rooms"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "rooms_live_created_idx" ON "rooms" USING btree ("created_at","id") WHERE "rooms"."deleted_at" is null;