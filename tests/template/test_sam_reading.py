"""tools/local/cfn_template.py reads template.yaml as SAM CLI's own providers do (what `sam local` runs).

make invoke, make up and make start-lambda take each function's handler, code, runtime, timeout,
memory, layers and environment from cfn_template; here SAM CLI's SamLocalStackProvider and
SamFunctionProvider (short tags, Globals via samtranslator's plugins, parameters, intrinsics) read
the same template, under default and overridden parameters, and every one of those must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from tools.local.cfn_template import env_string, function_config, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FUNCTIONS = ("RssProducerFunction", "PolymarketProducerFunction")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # samtranslator's own, on jsonschema
OVERRIDES = [
    {},
    {
        "BootstrapServers": "b-1.example:9098,b-2.example:9098",
        "SecurityProtocol": "SASL_SSL",
        "SaslMechanism": "AWS_MSK_IAM",
        "MskClusterArn": "arn:aws:kafka:eu-west-1:123456789012:cluster/demo/abc",
        "KafkaSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka",
        "LogLevel": "DEBUG",
        "MaxMarkets": "7",
        "FeedUrls": "https://a.example/feed,https://b.example/feed",
        "RssTopic": "news",
    },
]


@pytest.mark.parametrize("overrides", OVERRIDES, ids=["defaults", "overridden"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_cfn_template_reads_each_function_as_sam_cli_does(function: str, overrides: dict[str, str]) -> None:
    stacks, _ = SamLocalStackProvider.get_stacks(
        str(TEMPLATE), parameter_overrides=overrides, global_parameter_overrides={"AWS::Region": "eu-west-1"}
    )
    sam = SamFunctionProvider(stacks, use_raw_codeuri=True).get(function)
    ours = function_config(load_template(TEMPLATE), function, ROOT, overrides, region="eu-west-1")
    assert sam is not None
    expected = (sam.handler, sam.runtime, sam.timeout, sam.memory)
    assert (ours.handler, ours.runtime, ours.timeout_s, ours.memory_mb) == expected
    assert ours.code_dir == ROOT / str(sam.codeuri)
    # the layers in SAM's order (Globals' first); a layer contributes its python/ directory when it has one
    sam_layers = [ROOT / str(layer.codeuri) / "python" for layer in sam.layers]
    assert list(ours.layer_dirs) == [path for path in sam_layers if path.is_dir()]
    sam_variables = (sam.environment or {}).get("Variables") or {}
    assert ours.environment == {name: env_string(value) for name, value in sam_variables.items()}
