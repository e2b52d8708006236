using System.Net;
using System.Net.Sockets;
using EventPipeline.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace EventPipeline.Tests.Operations;

/// <summary>The repository's deploy/ folder and the real tools that check it: kubectl (Kustomize) and promtool.</summary>
internal static class OperationsTools
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Deploy(params string[] parts) => Path.Combine([RepositoryRoot, "deploy", .. parts]);

    /// <summary>Runs a tool and fails the test with its output unless it exits 0.</summary>
    public static async Task<string> RunToolAsync(string tool, params string[] arguments)
    {
        var result = await ExternalProcess.RunAsync(tool, arguments, timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}");
        return result.Stdout;
    }

    /// <summary>Every document of a multi-document YAML stream, as dictionaries, lists and strings.</summary>
    public static List<Dictionary<object, object>> ParseYamlDocuments(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
                documents.Add(document);
        }
        return documents;
    }

    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(directory.FullName, "deploy")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"No repository root (with deploy/) above {AppContext.BaseDirectory}");
    }
}

/// <summary>Path navigation over the untyped YAML tree: <c>node.Get("spec", "template", "spec")</c>.</summary>
internal static class YamlNode
{
    public static object? Get(this object? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (Dictionary<object, object> map, string key) => map.TryGetValue(key, out var value) ? value : null,
                (List<object> list, int index) => index < list.Count ? list[index] : null,
                _ => null,
            };
        }
        return node;
    }

    public static string? Text(this object? node, params object[] path) => node.Get(path) as string;

    public static Dictionary<object, object> Map(this object? node, params object[] path) =>
        node.Get(path) as Dictionary<object, object> ?? throw new Xunit.Sdk.XunitException($"no mapping at {string.Join('.', path)}");

    public static List<object> List(this object? node, params object[] path) =>
        node.Get(path) as List<object> ?? throw new Xunit.Sdk.XunitException($"no list at {string.Join('.', path)}");
}
