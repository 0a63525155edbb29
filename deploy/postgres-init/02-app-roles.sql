-- The role each service's APIs and workers connect as (design §3, docs/security.md "Row-level
-- security"): it logs in, owns nothing, and is no superuser, so the forced row-level security of its
-- tables holds for it and it cannot switch it off. The tables belong to the owner role of
-- 01-databases.sql, as which `crm migrate` runs; `crm migrate` then grants this role CONNECT, TEMPORARY
-- and SELECT/INSERT/UPDATE/DELETE on the service's tables (shared.migrations.grant_app_role).
--
-- Run once by the postgres image on an empty data directory, as the superuser, with ON_ERROR_STOP. On
-- an existing installation run it by hand, once, before the next `crm migrate`:
--   docker-compose -f deploy/docker-compose.yml exec postgres \
--     psql -U postgres -v ON_ERROR_STOP=1 -f /docker-entrypoint-initdb.d/02-app-roles.sql

\getenv identity_app_password IDENTITY_APP_DB_PASSWORD
\getenv leads_app_password LEADS_APP_DB_PASSWORD
\getenv customers_app_password CUSTOMERS_APP_DB_PASSWORD
\getenv callcenter_app_password CALLCENTER_APP_DB_PASSWORD
\getenv analytics_app_password ANALYTICS_APP_DB_PASSWORD

CREATE ROLE identity_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'identity_app_password';
CREATE ROLE leads_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'leads_app_password';
CREATE ROLE customers_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'customers_app_password';
CREATE ROLE callcenter_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'callcenter_app_password';
CREATE ROLE analytics_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'analytics_app_password';
