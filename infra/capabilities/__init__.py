"""One construct per capability, by what the retailer gets: Intake, Profiles, Admin (sources,
keys, catalog), Triggers, Delivery, Decisions, Privacy. Each owns its functions, their grants,
routes, schedules and dashboard widgets; they meet through the foundation (infra.foundation):
the table, the queues and the API. The stack only wires them."""
