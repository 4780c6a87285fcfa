-- The api connects as two roles that own nothing (BRIEF §6): myclothes_writer on the primary may read
-- and write the rows of the app's tables; myclothes_reader on the replicas may only read them. Neither
-- may create, alter or drop anything. Every table the owner creates from here on is granted to them.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO myclothes_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO myclothes_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT ON TABLES TO myclothes_reader;
