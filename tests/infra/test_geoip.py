"""CDK context geoip_database: the retailer's City database bundled as a layer of the intake alone,
its path in ASUSUAL_GEOIP_DATABASE; without it, no layer and no variable."""

import dataclasses
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from asusual.store.geoip import GeoipDatabaseError
from infra.capabilities.intake import Intake
from infra.config import StageConfig
from tests.geoip import build_city_database
from tests.infra.test_capabilities import CONFIG, bare_foundation, link_secret


def intake_function(template):
    (function,) = [
        f for name, f in template.find_resources("AWS::Lambda::Function").items() if name.startswith("Intake")
    ]
    return function["Properties"]


def test_intake_without_geoip_database_has_no_layer_and_no_variable(synthesized):
    _, template, _ = synthesized
    properties = intake_function(template)
    assert "ASUSUAL_GEOIP_DATABASE" not in properties["Environment"]["Variables"]
    assert len(properties["Layers"]) == 1  # the dependencies only
    layers = template.find_resources("AWS::Lambda::LayerVersion")
    assert not [name for name in layers if "Geoip" in name]


def test_intake_with_geoip_database_bundles_only_that_file_as_its_own_layer(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    build_city_database(folder / "GeoLite2-City.mmdb")
    (folder / "notes.txt").write_text("not for Lambda")
    stack, base = bare_foundation(tmp_path)
    Intake(stack, "Intake", base=base, link_secret=link_secret(stack),
           geoip_database=str(folder / "GeoLite2-City.mmdb"))  # fmt: skip
    template = Template.from_stack(stack)
    properties = intake_function(template)
    assert properties["Environment"]["Variables"]["ASUSUAL_GEOIP_DATABASE"] == "/opt/GeoLite2-City.mmdb"
    assert len(properties["Layers"]) == 2
    (geoip,) = [
        layer
        for name, layer in template.find_resources("AWS::Lambda::LayerVersion").items()
        if name.startswith("IntakeGeoipDatabase")
    ]
    assert geoip["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # only the database goes into the asset, not the rest of its folder
    assembly = stack.node.root.synth()
    staged = [
        sorted(p.name for p in Path(assembly.directory, asset).iterdir())
        for asset in (p.name for p in Path(assembly.directory).glob("asset.*"))
        if (Path(assembly.directory, asset) / "GeoLite2-City.mmdb").exists()
    ]
    assert staged == [["GeoLite2-City.mmdb"]]
    # no other function gets the database
    others = [
        f["Properties"]
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if not name.startswith("Intake")
    ]
    assert all("ASUSUAL_GEOIP_DATABASE" not in f["Environment"]["Variables"] for f in others)


def test_intake_with_a_file_that_is_no_city_database_refuses_to_synth(tmp_path):
    bad = tmp_path / "city.mmdb"
    bad.write_bytes(b"\x00" * 1024)
    stack, base = bare_foundation(tmp_path)
    with pytest.raises(GeoipDatabaseError, match="does not open as a MaxMind database"):
        Intake(stack, "Intake", base=base, link_secret=link_secret(stack), geoip_database=str(bad))


def test_geoip_database_is_read_from_cdk_context_and_must_be_a_file(tmp_path):
    database = build_city_database(tmp_path / "city.mmdb")
    app = App(context={"geoip_database": str(database)})
    assert StageConfig.from_app(app).geoip_database == str(database)
    assert StageConfig.from_app(App()).geoip_database is None
    with pytest.raises(ValueError, match=r"geoip_database: '.*absent\.mmdb' is not a file"):
        dataclasses.replace(CONFIG, geoip_database=str(tmp_path / "absent.mmdb"))
