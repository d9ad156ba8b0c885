INSERT INTO c_users VALUES (1, 'ann', 'hunter2', 'ann@example.com'), (2, 'bob', 's3cret', NULL);
UPDATE c_users SET password = 'changed' WHERE id = 1;
UPDATE c_users SET email = 'bob@example.com' WHERE id = 2;
DELETE FROM c_users WHERE id = 1;
INSERT INTO c_cards VALUES (1, 'ann', '4111111111111111', 123, 'first');
UPDATE c_cards SET note = 'second' WHERE id = 1;
DELETE FROM c_cards WHERE id = 1;
