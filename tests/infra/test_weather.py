"""The weather feature in the stack (docs/weather.md): off by default; CDK context weather=open-meteo
switches it on for the two functions that look the weather up, which reach Open-Meteo over the
internet (no function in a VPC)."""

import pytest
from aws_cdk import App

from infra.config import StageConfig
from tests.infra.test_stack import resources


def test_weather_only_the_functions_that_look_it_up_are_switched_on(synthesized):
    _, template, _ = synthesized
    switched = sorted(
        name[:-8]  # the logical id without CDK's hash
        for name, function in resources(template, "AWS::Lambda::Function").items()
        if function["Properties"].get("Environment", {}).get("Variables", {}).get("ASUSUAL_WEATHER")
        == "open-meteo"
    )
    assert switched == ["Decisionsdecideapi", "Deliverydispatcher"]
    # Open-Meteo is on the internet: no function is in a VPC (Lambda outside one has egress)
    assert all(
        "VpcConfig" not in f["Properties"] for f in resources(template, "AWS::Lambda::Function").values()
    )


def test_weather_off_by_default_and_read_from_cdk_context():
    assert StageConfig().weather_environment == {}
    config = StageConfig.from_app(App(context={"weather": "open-meteo"}))
    assert config.weather_environment == {"ASUSUAL_WEATHER": "open-meteo"}
    with pytest.raises(ValueError, match="weather: 'openweather' must be one of off, open-meteo"):
        StageConfig(weather="openweather")
