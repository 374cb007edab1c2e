"""Entry-point glue shared by the functions: the HTTP resolver, error mapping, task dispatch, views."""
