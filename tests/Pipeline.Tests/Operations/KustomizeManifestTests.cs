using Microsoft.Extensions.Configuration;
using System.Globalization;
using EventPipeline.Host.Configuration;

namespace EventPipeline.Tests.Operations;

/// <summary>
/// Renders each Kustomize tree with the real kubectl and checks the result against what the worker does: its
/// configuration keys and defaults (PipelineSettings), its endpoints, and the rules deploy/README.md states.
/// </summary>
public sealed class KustomizeManifestTests
{
    public static TheoryData<string> Trees => new() { "base", "overlays/example" };

    [Theory]
    [MemberData(nameof(Trees))]
    public async Task The_rendered_manifests_match_the_worker(string tree)
    {
        var rendered = await OperationsTools.RunToolAsync("kubectl", "kustomize", OperationsTools.Deploy("k8s", tree));
        var documents = OperationsTools.ParseYamlDocuments(rendered);
        Dictionary<object, object> Single(string kind) => Assert.Single(documents, d => d.Text("kind") == kind);

        var config = Single("ConfigMap").Map("data").ToDictionary(p => (string)p.Key, p => (string)p.Value);
        var defaults = new PipelineSettings();
        string Setting(string key, object fallback) =>
            config.GetValueOrDefault("PIPELINE_" + key.Replace(":", "__", StringComparison.Ordinal)) ?? Convert.ToString(fallback, CultureInfo.InvariantCulture)!;

        // The ConfigMap holds only keys the worker knows (it refuses to start on unknown ones), and it loads.
        var settings = LoadLikeTheWorker(config);
        Assert.Equal(int.Parse(Setting("Metrics:Port", defaults.Metrics.Port), CultureInfo.InvariantCulture), settings.Metrics.Port);

        var deployment = Single("Deployment");
        var pod = deployment.Map("spec", "template", "spec");
        var container = Assert.Single(pod.List("containers")).Map();
        Assert.Equal("run", Assert.Single(container.List("args")));
        Assert.Equal(Single("ConfigMap").Text("metadata", "name"), container.Text("envFrom", 0, "configMapRef", "name"));

        // Probes and ports: the endpoint listens on Metrics:Port and serves /readyz and /healthz.
        var metricsPort = settings.Metrics.Port;
        var port = Assert.Single(container.List("ports")).Map();
        Assert.Equal(metricsPort.ToString(CultureInfo.InvariantCulture), port.Text("containerPort"));
        int ProbePort(string probe)
        {
            var value = container.Text(probe, "httpGet", "port")!;
            return value == port.Text("name") ? int.Parse(port.Text("containerPort")!, CultureInfo.InvariantCulture) : int.Parse(value, CultureInfo.InvariantCulture);
        }
        Assert.Equal("/readyz", container.Text("readinessProbe", "httpGet", "path"));
        Assert.Equal("/healthz", container.Text("livenessProbe", "httpGet", "path"));
        Assert.Equal(metricsPort, ProbePort("readinessProbe"));
        Assert.Equal(metricsPort, ProbePort("livenessProbe"));
        var annotations = deployment.Map("spec", "template", "metadata", "annotations");
        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal(metricsPort.ToString(CultureInfo.InvariantCulture), annotations["prometheus.io/port"]);
        Assert.Equal("/metrics", annotations["prometheus.io/path"]);

        // The kubelet must not kill a worker that is still draining: grace > drain timeout, with room to commit.
        var grace = int.Parse(pod.Text("terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture);
        Assert.True(grace >= settings.Pipeline.DrainTimeoutSeconds + 10,
            $"terminationGracePeriodSeconds {grace} must exceed Pipeline:DrainTimeoutSeconds {settings.Pipeline.DrainTimeoutSeconds} by at least 10 s");

        // Non-root, read-only root filesystem, /tmp writable.
        Assert.Equal("true", pod.Text("securityContext", "runAsNonRoot"));
        Assert.NotEqual("0", pod.Text("securityContext", "runAsUser"));
        Assert.Equal("true", container.Text("securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("false", container.Text("securityContext", "allowPrivilegeEscalation"));
        Assert.Contains(container.List("volumeMounts"), m => m.Text("mountPath") == "/tmp");
        Assert.NotNull(container.Get("resources", "requests", "cpu"));
        Assert.NotNull(container.Get("resources", "limits", "memory"));

        // Credentials: the password is a file from a Secret, never a ConfigMap value or key.
        Assert.DoesNotContain(config.Keys, key => key.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase) && !key.EndsWith("PasswordFile", StringComparison.Ordinal));
        var passwordFile = settings.ClickHouse.PasswordFile;
        Assert.False(string.IsNullOrEmpty(passwordFile), "ClickHouse:PasswordFile must be set");
        var mount = Assert.Single(container.List("volumeMounts"), m => passwordFile.StartsWith(m.Text("mountPath") + "/", StringComparison.Ordinal));
        var volume = Assert.Single(pod.List("volumes"), v => v.Text("name") == mount.Text("name"));
        var secretName = volume.Text("secret", "secretName");
        Assert.NotNull(secretName);
        Assert.Equal("true", mount.Text("readOnly"));
        foreach (var secret in documents.Where(d => d.Text("kind") == "Secret"))
        {
            Assert.Equal(secretName, secret.Text("metadata", "name"));
            var key = Path.GetFileName(passwordFile);
            var values = (secret.Get("data") as Dictionary<object, object> ?? []).Values.Cast<string>()
                .Select(v => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(v)))
                .Concat((secret.Get("stringData") as Dictionary<object, object> ?? []).Values.Cast<string>()).ToList();
            Assert.True(secret.Get("data", key) is not null || secret.Get("stringData", key) is not null, $"secret has no key {key}");
            var configValues = documents.Where(d => d.Text("kind") == "ConfigMap").SelectMany(c => c.Map("data").Values.Cast<string>()).ToList();
            foreach (var value in values)
                Assert.DoesNotContain(configValues, v => v.Contains(value, StringComparison.Ordinal));
        }

        // Disruptions take one consumer at a time.
        var pdb = Single("PodDisruptionBudget");
        Assert.Equal("1", pdb.Text("spec", "maxUnavailable"));
        AssertSelects(pdb.Map("spec", "selector", "matchLabels"), deployment);

        // Scraping: a headless Service with the metrics port and a ServiceMonitor that selects it.
        var service = Single("Service");
        Assert.Equal("None", service.Text("spec", "clusterIP"));
        var servicePort = Assert.Single(service.List("spec", "ports")).Map();
        Assert.Equal(port.Text("name"), servicePort.Text("targetPort"));
        AssertSelects(service.Map("spec", "selector"), deployment);
        var monitor = Single("ServiceMonitor");
        Assert.Equal(servicePort.Text("name"), monitor.Text("spec", "endpoints", 0, "port"));
        Assert.Equal("/metrics", monitor.Text("spec", "endpoints", 0, "path"));
        foreach (var (key, value) in monitor.Map("spec", "selector", "matchLabels"))
            Assert.Equal(value, service.Map("metadata", "labels")[key]);

        // Autoscaling on this group's lag, never beyond one replica per partition.
        var scaled = Single("ScaledObject");
        Assert.Equal(deployment.Text("metadata", "name"), scaled.Text("spec", "scaleTargetRef", "name"));
        var partitions = int.Parse(scaled.Text("metadata", "annotations", "event-pipeline/topic-partitions")!, CultureInfo.InvariantCulture);
        var max = int.Parse(scaled.Text("spec", "maxReplicaCount")!, CultureInfo.InvariantCulture);
        var min = int.Parse(scaled.Text("spec", "minReplicaCount")!, CultureInfo.InvariantCulture);
        Assert.InRange(max, 1, partitions);
        Assert.InRange(min, 1, max);
        var trigger = Assert.Single(scaled.List("spec", "triggers")).Map();
        Assert.Equal("kafka", trigger.Text("type"));
        Assert.Equal(settings.Kafka.GroupId, trigger.Text("metadata", "consumerGroup"));
        Assert.Equal(settings.Kafka.Topic, trigger.Text("metadata", "topic"));
        Assert.Equal(settings.Kafka.BootstrapServers, trigger.Text("metadata", "bootstrapServers"));
        Assert.Equal("false", trigger.Text("metadata", "allowIdleConsumers"));
    }

    private static PipelineSettings LoadLikeTheWorker(Dictionary<string, string> config)
    {
        // The worker reads PIPELINE_Section__Key; the password file exists only in the pod, so it is checked apart.
        var values = config.Where(p => p.Key != "PIPELINE_ClickHouse__PasswordFile")
            .ToDictionary(p => p.Key["PIPELINE_".Length..].Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value);
        var settings = PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        settings.ClickHouse.PasswordFile = config.GetValueOrDefault("PIPELINE_ClickHouse__PasswordFile", "");
        return settings;
    }

    private static void AssertSelects(Dictionary<object, object> selector, Dictionary<object, object> deployment)
    {
        var labels = deployment.Map("spec", "template", "metadata", "labels");
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
            Assert.Equal(value, labels[key]);
    }
}
