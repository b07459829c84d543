using System.IO.Compression;
using System.Text;

namespace Runbox.Server.Tests.Ui;

/// <summary>Writes a minimal pure-Python wheel, so installing a package needs no network.</summary>
public static class TinyWheel
{
    public static string Write(string folder, string name, string version)
    {
        var path = Path.Combine(folder, $"{name}-{version}-py3-none-any.whl");
        var info = $"{name}-{version}.dist-info";
        var files = new Dictionary<string, string>
        {
            [$"{name}/__init__.py"] = $"VERSION = '{version}'\n",
            [$"{info}/METADATA"] = $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            [$"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: runbox-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        };
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        var record = new StringBuilder();
        foreach (var (entry, text) in files)
        {
            using (var writer = new StreamWriter(zip.CreateEntry(entry).Open()))
            {
                writer.Write(text);
            }
            record.Append(entry).Append(",,\n");
        }
        record.Append(info).Append("/RECORD,,\n");
        using (var writer = new StreamWriter(zip.CreateEntry($"{info}/RECORD").Open()))
        {
            writer.Write(record.ToString());
        }
        return path;
    }
}
