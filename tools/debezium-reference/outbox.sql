-- Debezium's outbox table, for the EventRouter goldens; run against a fresh database.
CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb, tracingspancontext varchar(256), version int DEFAULT 1);
