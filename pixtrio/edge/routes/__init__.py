"""HTTP routes: parse and validate, call a service, shape the answer."""
