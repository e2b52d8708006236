using Microsoft.Extensions.Configuration;
using System.Globalization;
using System.Text.RegularExpressions;
using EventPipeline.Host.Commands;
using EventPipeline.Host.Configuration;
using EventPipeline.Models.Codec;

namespace EventPipeline.Tests.Operations;

/// <summary>
/// Renders each Kustomize tree with the real kubectl and checks the result against what the worker and
/// `pipeline produce` do: their configuration keys and defaults (PipelineSettings, the produce command's own parser),
/// their endpoints, the model the image ships, and the rules deploy/README.md states.
/// </summary>
public sealed partial class KustomizeManifestTests
{
    public static TheoryData<string> Trees => new() { "base", "overlays/example" };

    public static TheoryData<string> ProducerTrees => new() { "producer", "overlays/example" };

    [Theory]
    [MemberData(nameof(Trees))]
    public async Task The_rendered_manifests_match_the_worker(string tree)
    {
        var documents = await RenderAsync(tree);
        Dictionary<object, object> Single(string kind) => Assert.Single(documents, d => d.Text("kind") == kind && Component(d) == "consumer");

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

        var port = AssertServesItsEndpoints(deployment, container, settings.Metrics.Port);

        // The kubelet must not kill a worker that is still draining: grace > drain timeout, with room to commit.
        var grace = int.Parse(pod.Text("terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture);
        Assert.True(grace >= settings.Pipeline.DrainTimeoutSeconds + 10,
            $"terminationGracePeriodSeconds {grace} must exceed Pipeline:DrainTimeoutSeconds {settings.Pipeline.DrainTimeoutSeconds} by at least 10 s");
        AssertHardened(pod, container);

        // Credentials: the password is a file from a Secret, never a ConfigMap value or key.
        AssertNoSecretsInConfigMaps(documents);
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
            Assert.True(secret.Get("data", key) is not null || secret.Get("stringData", key) is not null, $"secret has no key {key}");
        }

        // Disruptions take one consumer at a time; a headless Service and a ServiceMonitor scrape every pod.
        AssertDisruptionsAndScraping(Single, deployment, port);

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

    [Theory]
    [MemberData(nameof(ProducerTrees))]
    public async Task The_rendered_producer_matches_the_produce_command(string tree)
    {
        var documents = await RenderAsync(tree);
        Dictionary<object, object> Single(string kind) => Assert.Single(documents, d => d.Text("kind") == kind && Component(d) == "producer");

        // Its ConfigMap holds only what produce reads: any other key would look applied and be ignored.
        var config = Single("ConfigMap").Map("data").ToDictionary(p => (string)p.Key, p => (string)p.Value);
        Assert.All(config.Keys, key => Assert.Matches(ProduceReads(), key));
        AssertNoSecretsInConfigMaps(documents);

        // Its arguments, read by the produce command's own parser and checks, with the ConfigMap as its environment.
        var deployment = Single("Deployment");
        var pod = deployment.Map("spec", "template", "spec");
        var container = Assert.Single(pod.List("containers")).Map();
        Assert.Equal(Single("ConfigMap").Text("metadata", "name"), container.Text("envFrom", 0, "configMapRef", "name"));
        var args = container.List("args").Cast<string>().ToList();
        Assert.Equal("produce", args[0]);
        var parse = ProduceCommand.Create().Parse(args[1..]);
        Assert.Empty(parse.Errors);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ConfigurationKeys(config)).AddCommandLine([.. parse.UnmatchedTokens]).Build();
        var (request, stdin) = ProduceCommand.ReadRequest(parse, configuration);
        Assert.Null(ProduceCommand.Check(request, stdin));
        Assert.False(stdin);
        Assert.NotEqual(request.FromTopic, request.Topic); // its own output would come back as input

        // The model is the one the image ships: the build output holds what the image's publish folder holds.
        var model = ImagePath(request.ModelDirectory);
        Assert.True(model is not null, $"--model {request.ModelDirectory} is not in the image's {ImageAppDirectory}; a mounted model needs a volume");
        Assert.True(CodecArtifact.ReadMetadata(model).ModelId > 0);

        var port = AssertServesItsEndpoints(deployment, container, ProduceCommand.MetricsSettingsFor(configuration, request).Port);
        var grace = int.Parse(pod.Text("terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture);
        Assert.True(grace >= ProduceCommand.DrainTimeoutSeconds + 10,
            $"terminationGracePeriodSeconds {grace} must exceed produce's drain timeout {ProduceCommand.DrainTimeoutSeconds} s by at least 10 s");
        AssertHardened(pod, container);
        // It needs no credentials: no secret reaches it.
        Assert.DoesNotContain(pod.List("volumes"), v => v.Get("secret") is not null);
        Assert.DoesNotContain(container.Get("env") as List<object> ?? [], e => e.Get("valueFrom", "secretKeyRef") is not null);
        Assert.DoesNotContain(container.List("envFrom"), e => e.Get("secretRef") is not null);
        AssertDisruptionsAndScraping(Single, deployment, port);

        // Beside the consumers (the example overlay): same brokers, it writes their topic, with a model they load.
        if (documents.Any(d => d.Text("kind") == "Deployment" && Component(d) == "consumer"))
        {
            var consumerConfig = Assert.Single(documents, d => d.Text("kind") == "ConfigMap" && Component(d) == "consumer").Map("data")
                .ToDictionary(p => (string)p.Key, p => (string)p.Value);
            var consumer = LoadLikeTheWorker(consumerConfig);
            Assert.Equal(consumer.Kafka.BootstrapServers, request.BootstrapServers);
            Assert.Equal(consumer.Kafka.Topic, request.Topic);
            Assert.NotEqual(consumer.Kafka.GroupId, request.Group);
            Assert.Contains(request.ModelDirectory, consumerConfig["PIPELINE_Codec__Models"].Split(',', StringSplitOptions.TrimEntries));
            Assert.Contains(model, consumer.Codec.ModelDirectories);
        }
    }

    private static async Task<List<Dictionary<object, object>>> RenderAsync(string tree) =>
        OperationsTools.ParseYamlDocuments(await OperationsTools.RunToolAsync("kubectl", "kustomize", OperationsTools.Deploy("k8s", tree)));

    /// <summary>consumer or producer: the label each base gives all its resources.</summary>
    private static string? Component(Dictionary<object, object> document) => document.Text("metadata", "labels", "app.kubernetes.io/component");

    /// <summary>Where the image puts the published executable and its Artifacts (the Dockerfile's publish output).</summary>
    private static string ImageAppDirectory { get; } =
        PublishOutput().Match(File.ReadAllText(Path.Combine(OperationsTools.RepositoryRoot, "Dockerfile"))).Groups[1].Value.TrimEnd('/') + "/";

    /// <summary>A path inside the image's publish folder, as the build output next to the tests holds it; null for any other path.</summary>
    private static string? ImagePath(string path) =>
        path.StartsWith(ImageAppDirectory, StringComparison.Ordinal) ? Path.Combine(AppContext.BaseDirectory, path[ImageAppDirectory.Length..]) : null;

    private static Dictionary<string, string?> ConfigurationKeys(Dictionary<string, string> config) =>
        config.ToDictionary(p => p.Key["PIPELINE_".Length..].Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value);

    private static PipelineSettings LoadLikeTheWorker(Dictionary<string, string> config)
    {
        // The worker reads PIPELINE_Section__Key; the password file exists only in the pod, so it is checked apart.
        var values = ConfigurationKeys(config.Where(p => p.Key != "PIPELINE_ClickHouse__PasswordFile").ToDictionary());
        // Codec models in the image are loaded from the build output, which holds the same artifacts.
        if (values.GetValueOrDefault("Codec:Models") is { } models)
            values["Codec:Models"] = string.Join(',', models.Split(',', StringSplitOptions.TrimEntries).Select(m => ImagePath(m) ?? m));
        var settings = PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        settings.ClickHouse.PasswordFile = config.GetValueOrDefault("PIPELINE_ClickHouse__PasswordFile", "");
        return settings;
    }

    /// <summary>Probes and ports: the endpoint listens on Metrics:Port and serves /readyz and /healthz; the pod says where to scrape.</summary>
    /// <returns>The container's one port.</returns>
    private static Dictionary<object, object> AssertServesItsEndpoints(Dictionary<object, object> deployment, Dictionary<object, object> container, int metricsPort)
    {
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
        return port;
    }

    /// <summary>Non-root, read-only root filesystem, /tmp writable, no extra capabilities, resources set.</summary>
    private static void AssertHardened(Dictionary<object, object> pod, Dictionary<object, object> container)
    {
        Assert.Equal("true", pod.Text("securityContext", "runAsNonRoot"));
        Assert.NotEqual("0", pod.Text("securityContext", "runAsUser"));
        Assert.Equal("false", pod.Text("automountServiceAccountToken"));
        Assert.Equal("true", container.Text("securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("false", container.Text("securityContext", "allowPrivilegeEscalation"));
        Assert.Equal(["ALL"], container.List("securityContext", "capabilities", "drop").Cast<string>());
        Assert.Contains(container.List("volumeMounts"), m => m.Text("mountPath") == "/tmp");
        Assert.NotNull(container.Get("resources", "requests", "cpu"));
        Assert.NotNull(container.Get("resources", "limits", "memory"));
    }

    /// <summary>No password key and no secret's value in any ConfigMap.</summary>
    private static void AssertNoSecretsInConfigMaps(List<Dictionary<object, object>> documents)
    {
        var configMaps = documents.Where(d => d.Text("kind") == "ConfigMap").Select(c => c.Map("data")).ToList();
        Assert.DoesNotContain(configMaps.SelectMany(c => c.Keys.Cast<string>()),
            key => key.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase) && !key.EndsWith("PasswordFile", StringComparison.Ordinal));
        var configValues = configMaps.SelectMany(c => c.Values.Cast<string>()).ToList();
        foreach (var secret in documents.Where(d => d.Text("kind") == "Secret"))
        {
            var values = (secret.Get("data") as Dictionary<object, object> ?? []).Values.Cast<string>()
                .Select(v => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(v)))
                .Concat((secret.Get("stringData") as Dictionary<object, object> ?? []).Values.Cast<string>());
            foreach (var value in values)
                Assert.DoesNotContain(configValues, v => v.Contains(value, StringComparison.Ordinal));
        }
    }

    /// <summary>One pod at a time may be evicted; a headless Service with the metrics port and a ServiceMonitor that selects it.</summary>
    private static void AssertDisruptionsAndScraping(Func<string, Dictionary<object, object>> single, Dictionary<object, object> deployment,
        Dictionary<object, object> port)
    {
        var pdb = single("PodDisruptionBudget");
        Assert.Equal("1", pdb.Text("spec", "maxUnavailable"));
        AssertSelects(pdb.Map("spec", "selector", "matchLabels"), deployment);
        var service = single("Service");
        Assert.Equal("None", service.Text("spec", "clusterIP"));
        var servicePort = Assert.Single(service.List("spec", "ports")).Map();
        Assert.Equal(port.Text("name"), servicePort.Text("targetPort"));
        AssertSelects(service.Map("spec", "selector"), deployment);
        var monitor = single("ServiceMonitor");
        Assert.Equal(servicePort.Text("name"), monitor.Text("spec", "endpoints", 0, "port"));
        Assert.Equal("/metrics", monitor.Text("spec", "endpoints", 0, "path"));
        foreach (var (key, value) in monitor.Map("spec", "selector", "matchLabels"))
            Assert.Equal(value, service.Map("metadata", "labels")[key]);
    }

    [GeneratedRegex(@"^PIPELINE_(Kafka__BootstrapServers|Kafka__Properties__[\w.]+|Metrics__(Port|Host)|Logging__\w+(__\w+)*)$")]
    private static partial Regex ProduceReads();

    [GeneratedRegex(@"dotnet publish .* -o (\S+)")]
    private static partial Regex PublishOutput();

    private static void AssertSelects(Dictionary<object, object> selector, Dictionary<object, object> deployment)
    {
        var labels = deployment.Map("spec", "template", "metadata", "labels");
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
            Assert.Equal(value, labels[key]);
    }
}
