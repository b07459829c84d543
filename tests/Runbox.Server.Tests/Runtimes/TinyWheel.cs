using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Runbox.Server.Tests.Runtimes;

/// <summary>Writes a minimal pure-Python wheel by hand (files, METADATA, WHEEL, RECORD), so tests install without a network.</summary>
public static class TinyWheel
{
    /// <param name="requires">Distributions it depends on (Requires-Dist): pip installs them before it.</param>
    public static string Write(string folder, string name, string version, IReadOnlyDictionary<string, string> files, IReadOnlyList<string>? requires = null)
    {
        Directory.CreateDirectory(folder);
        var distInfo = $"{name}-{version}.dist-info";
        var all = new Dictionary<string, byte[]>();
        foreach (var (path, text) in files)
        {
            all[path] = Encoding.UTF8.GetBytes(text);
        }
        all[$"{distInfo}/METADATA"] = Encoding.UTF8.GetBytes(
            $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + string.Concat((requires ?? []).Select(r => $"Requires-Dist: {r}\n")));
        all[$"{distInfo}/WHEEL"] = Encoding.UTF8.GetBytes("Wheel-Version: 1.0\nGenerator: runbox-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
        var record = new StringBuilder();
        foreach (var (path, bytes) in all)
        {
            var hash = Convert.ToBase64String(SHA256.HashData(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            record.Append($"{path},sha256={hash},{bytes.Length}\n");
        }
        record.Append($"{distInfo}/RECORD,,\n");
        all[$"{distInfo}/RECORD"] = Encoding.UTF8.GetBytes(record.ToString());
        var wheel = Path.Combine(folder, $"{name}-{version}-py3-none-any.whl");
        using var zip = ZipFile.Open(wheel, ZipArchiveMode.Create);
        foreach (var (path, bytes) in all)
        {
            using var entry = zip.CreateEntry(path).Open();
            entry.Write(bytes);
        }
        return wheel;
    }
}
