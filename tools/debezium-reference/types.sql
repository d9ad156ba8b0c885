-- Every type family Tributary maps, one table per family; run against a fresh database.
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (a int, b text);
CREATE TABLE t_numbers (id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, o oid, n numeric, n10 numeric(10,3), n5 numeric(5), f4 float4, f8 float8, m money, b bool, d positive_int);
CREATE TABLE t_text (id int PRIMARY KEY, c char(3), vc varchar(10), t text, nm name, ci citext, e mood, x xml, j json, jb jsonb, u uuid, by bytea);
CREATE TABLE t_time (id int PRIMARY KEY, d date, t time, t3 time(3), tz timetz, ts timestamp, ts0 timestamp(0), ts3 timestamp(3), tstz timestamptz, tstz0 timestamptz(0), iv interval);
CREATE TABLE t_net (id int PRIMARY KEY, ip inet, net cidr, mac macaddr, mac8 macaddr8, b1 bit(1), b8 bit(8), vb varbit, pt point, ln line, ls lseg, bx box, pa path, pg polygon, ci circle, tv tsvector, h hstore, p pair);
CREATE TABLE t_ranges (id int PRIMARY KEY, r4 int4range, r8 int8range, rn numrange, rts tsrange, rtz tstzrange, rd daterange);
CREATE TABLE t_arrays (id int PRIMARY KEY, ai int[], at text[], an numeric[], ab bool[], aj jsonb[], au uuid[], ad date[], ats timestamptz[], m2 int[][], av varchar(5)[], ae mood[]);
