"""Weather where the customer is, as one word content and the day's offer can use: cold, rain,
heat (docs/weather.md). Pure rules here; the provider (Open-Meteo) is an adapter in store/."""
