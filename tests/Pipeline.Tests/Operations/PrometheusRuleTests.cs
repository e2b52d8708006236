namespace EventPipeline.Tests.Operations;

/// <summary>Every rule file passes the real promtool's checks, and every unit test file under deploy/prometheus/tests passes.</summary>
public sealed class PrometheusRuleTests
{
    public static TheoryData<string> RuleFiles => new(Directory.GetFiles(OperationsTools.Deploy("prometheus", "rules"), "*.yml").Order());

    public static TheoryData<string> RuleTestFiles => new(Directory.GetFiles(OperationsTools.Deploy("prometheus", "tests"), "*.yml").Order());

    [Theory]
    [MemberData(nameof(RuleFiles))]
    public async Task Promtool_check_rules_passes(string file) =>
        Assert.Contains("SUCCESS", await OperationsTools.RunToolAsync("promtool", "check", "rules", file));

    [Theory]
    [MemberData(nameof(RuleTestFiles))]
    public async Task Promtool_test_rules_passes(string file) =>
        Assert.Contains("SUCCESS", await OperationsTools.RunToolAsync("promtool", "test", "rules", file));

    [Fact]
    public void Every_alert_has_a_summary_a_description_a_runbook_and_a_unit_test()
    {
        var tests = string.Join('\n', Directory.GetFiles(OperationsTools.Deploy("prometheus", "tests"), "*.yml").Select(File.ReadAllText));
        var alerts = Directory.GetFiles(OperationsTools.Deploy("prometheus", "rules"), "*.yml").SelectMany(f => OperationsTools.ParseYamlDocuments(File.ReadAllText(f)))
            .SelectMany(d => d.List("groups")).SelectMany(g => g.List("rules")).Where(r => r.Get("alert") is not null).ToList();
        Assert.NotEmpty(alerts);
        foreach (var alert in alerts)
        {
            var name = alert.Text("alert")!;
            foreach (var annotation in new[] { "summary", "description", "runbook" })
                Assert.False(string.IsNullOrWhiteSpace(alert.Text("annotations", annotation)), $"{name} has no {annotation}");
            // At least one expectation that fires (exp_alerts with labels) and one that does not (exp_alerts: []).
            var expectations = System.Text.RegularExpressions.Regex.Matches(tests, $@"alertname: {name}\s*\n\s*exp_alerts:(.*)");
            Assert.Contains(expectations, m => m.Groups[1].Value.Trim() == "[]");
            Assert.Contains(expectations, m => m.Groups[1].Value.Trim() == "");
        }
    }
}
