BEGIN; INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload) VALUES ('11111111-1111-1111-1111-111111111111', 'Order', '17', 'OrderCreated', '{"id": 17, "total": 2.50, "lines": [{"sku": "a", "qty": 1}]}'); DELETE FROM outboxevent WHERE id = '11111111-1111-1111-1111-111111111111'; COMMIT;
INSERT INTO outboxevent VALUES ('22222222-2222-2222-2222-222222222222', 'Customer', 'c-9', 'CustomerRenamed', '{"name": "Ann"}', 'traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 2);
UPDATE outboxevent SET type = 'CustomerRenamedAgain' WHERE id = '22222222-2222-2222-2222-222222222222';
INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload) VALUES ('33333333-3333-3333-3333-333333333333', 'Order', '18', 'OrderDeleted', NULL);
