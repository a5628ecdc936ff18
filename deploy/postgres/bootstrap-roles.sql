-- Creates newsflow's Postgres roles and the LOGIN users that deployments connect as.
-- Run once per database by a superuser (or a role with CREATEROLE that owns the database),
-- before the first `newsflow-dedup migrate`; idempotent, so it also runs on every start.
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 \
--     -v db=newsflow \
--     -v migrate_user=newsflow_migrate_1 -v migrate_password=... \
--     -v writer_user=newsflow_svc_1      -v writer_password=... \
--     -v analyst_user=newsflow_report_1  -v analyst_password=... \
--     -f deploy/postgres/bootstrap-roles.sql
--
-- Roles (NOLOGIN; privileges are granted to these, never to people or login users):
--   newsflow_migrator  owns the database and every object in it; runs the migrations (DDL)
--   newsflow_writer    what dedup and extract need: read and write rows, no DDL
--   newsflow_analyst   read-only: the report service and BI tools
-- The schema migrations also create these roles if missing and grant on the tables they
-- create; this script creates them first so that the migrator login needs no CREATEROLE.
--
-- Login users are members of exactly one role and switch to it on connect (ALTER ROLE ... SET
-- role), so objects the migrator creates are owned by newsflow_migrator, not by a login that
-- will be retired at the next credential rotation. No service logs in as a superuser.
-- Passwords travel as psql variables (never in this file); Postgres stores them as SCRAM
-- hashes (password_encryption defaults to scram-sha-256 since Postgres 14).

\set ON_ERROR_STOP on

-- 1. The group roles.
SELECT format('CREATE ROLE %I NOLOGIN', r)
  FROM unnest(ARRAY['newsflow_migrator', 'newsflow_writer', 'newsflow_analyst']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec

-- 2. The migrator owns the database; since Postgres 15 the public schema belongs to the
--    database owner (pg_database_owner), so this also lets it create tables there.
ALTER DATABASE :"db" OWNER TO newsflow_migrator;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO newsflow_writer, newsflow_analyst;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO newsflow_writer, newsflow_analyst;

-- 3. Tables the migrator creates from now on (including sqlx's _sqlx_migrations, which every
--    service reads at start-up to check the schema version) are usable by the other roles.
--    The migrations may narrow this with explicit REVOKEs; they are the authority.
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_migrator IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO newsflow_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_migrator IN SCHEMA public
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO newsflow_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_migrator IN SCHEMA public
  GRANT SELECT ON TABLES TO newsflow_analyst;

-- 4. Login users: created if missing, password (re)set, membership and session role fixed.
SELECT format('CREATE ROLE %I LOGIN', u)
  FROM unnest(ARRAY[:'migrate_user', :'writer_user', :'analyst_user']) AS u
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = u)
\gexec

ALTER ROLE :"migrate_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'migrate_password';
GRANT newsflow_migrator TO :"migrate_user";
ALTER ROLE :"migrate_user" SET role = 'newsflow_migrator';

ALTER ROLE :"writer_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'writer_password';
GRANT newsflow_writer TO :"writer_user";
ALTER ROLE :"writer_user" SET role = 'newsflow_writer';

ALTER ROLE :"analyst_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'analyst_password';
GRANT newsflow_analyst TO :"analyst_user";
ALTER ROLE :"analyst_user" SET role = 'newsflow_analyst';
-- Analysts' ad-hoc queries are bounded by default.
ALTER ROLE :"analyst_user" SET statement_timeout = '60s';
ALTER ROLE :"analyst_user" SET default_transaction_read_only = on;
