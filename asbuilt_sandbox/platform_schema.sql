-- The platform's state in the sandbox's RDS stand-in (database and owner role "conncentric").
--
-- Four tables of the same shape, one per kind of thing the two-pass installer applies:
--   adapter_configurations, pipeline_definitions, plugin_records  (content jsonb)
--   artifacts                                                     (content bytea)
-- Each row is keyed by its unique name; sha256 is the hex digest of the content as applied
-- (for jsonb: of the bytes the installer read, before parsing). version starts at 1 and is
-- raised by the writer when the content changes; updated_at is kept by a trigger.
--
-- An idempotent upsert (what the installer is expected to do) leaves version and updated_at
-- alone when the content did not change:
--   INSERT INTO pipeline_definitions AS t (name, content, sha256) VALUES ($1, $2, $3)
--   ON CONFLICT (name) DO UPDATE
--     SET content = EXCLUDED.content, sha256 = EXCLUDED.sha256, version = t.version + 1
--     WHERE t.sha256 IS DISTINCT FROM EXCLUDED.sha256;
--
-- Applied by asbuilt_sandbox.parts.postgres at every start, as role conncentric; every
-- statement is idempotent (IF NOT EXISTS / OR REPLACE). Needs PostgreSQL >= 14.

CREATE OR REPLACE FUNCTION platform_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS DISTINCT FROM OLD THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END;
$$;

CREATE TABLE IF NOT EXISTS adapter_configurations (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL UNIQUE CHECK (name <> ''),
  content     jsonb       NOT NULL,
  sha256      char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS pipeline_definitions (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL UNIQUE CHECK (name <> ''),
  content     jsonb       NOT NULL,
  sha256      char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS plugin_records (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL UNIQUE CHECK (name <> ''),
  content     jsonb       NOT NULL,
  sha256      char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS artifacts (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL UNIQUE CHECK (name <> ''),
  content     bytea       NOT NULL,
  sha256      char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER adapter_configurations_touch BEFORE UPDATE ON adapter_configurations
  FOR EACH ROW EXECUTE FUNCTION platform_touch_updated_at();
CREATE OR REPLACE TRIGGER pipeline_definitions_touch BEFORE UPDATE ON pipeline_definitions
  FOR EACH ROW EXECUTE FUNCTION platform_touch_updated_at();
CREATE OR REPLACE TRIGGER plugin_records_touch BEFORE UPDATE ON plugin_records
  FOR EACH ROW EXECUTE FUNCTION platform_touch_updated_at();
CREATE OR REPLACE TRIGGER artifacts_touch BEFORE UPDATE ON artifacts
  FOR EACH ROW EXECUTE FUNCTION platform_touch_updated_at();
