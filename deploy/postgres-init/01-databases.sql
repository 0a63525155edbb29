-- One database and one owner role per service (design §2 and §4): the owner role owns the service's
-- database and tables (`crm migrate` runs as it) and cannot connect to another's. The APIs and
-- workers connect as the service's `<service>_app` role instead (02-app-roles.sql). Run once by the postgres image on an empty data directory, as the
-- superuser, with ON_ERROR_STOP; the passwords come from the container's environment (psql \getenv),
-- so none is written here. A missing password variable makes the init fail instead of creating a
-- role without one.

\getenv identity_password IDENTITY_DB_PASSWORD
\getenv leads_password LEADS_DB_PASSWORD
\getenv customers_password CUSTOMERS_DB_PASSWORD
\getenv callcenter_password CALLCENTER_DB_PASSWORD
\getenv analytics_password ANALYTICS_DB_PASSWORD

CREATE ROLE identity LOGIN PASSWORD :'identity_password';
CREATE DATABASE identity OWNER identity ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE identity FROM PUBLIC;

CREATE ROLE leads LOGIN PASSWORD :'leads_password';
CREATE DATABASE leads OWNER leads ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE leads FROM PUBLIC;

CREATE ROLE customers LOGIN PASSWORD :'customers_password';
CREATE DATABASE customers OWNER customers ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE customers FROM PUBLIC;

CREATE ROLE callcenter LOGIN PASSWORD :'callcenter_password';
CREATE DATABASE callcenter OWNER callcenter ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE callcenter FROM PUBLIC;

CREATE ROLE analytics LOGIN PASSWORD :'analytics_password';
CREATE DATABASE analytics OWNER analytics ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE analytics FROM PUBLIC;
