INSERT INTO public.defaults (id, big, small, flag, name, code, pad, price, ratio, real4, doc, js, uid, day, at, atz, t, amount, iv, expr, note) VALUES (10, 10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'nulls');
DELETE FROM public.defaults WHERE id = 10;
