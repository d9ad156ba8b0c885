INSERT INTO public.lines (id, price, qty, label) VALUES (1, 2.50, 4, 'pens'), (2, 10.00, 1, NULL);
UPDATE public.lines SET qty = 3 WHERE id = 1;
UPDATE public.lines SET label = 'paper' WHERE id = 2;
DELETE FROM public.lines WHERE id = 1;
