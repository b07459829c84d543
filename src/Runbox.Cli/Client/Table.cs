using System.Globalization;
using System.Text;

namespace Runbox.Cli.Client;

/// <summary>Left-aligned columns for a person to read.</summary>
internal static class Table
{
    public static void Write(string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows.Select(row => row.Select(Shown).ToArray()));
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            Console.Out.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>
    /// A cell as escapes where it holds control characters or bidirectional overrides: a job names its own files, and an
    /// ESC in an artifact's name reached the reader's terminal (set its title, its colours, wrote to its clipboard); a
    /// newline would fake a row, a right-to-left override shows <c>exe.txt</c> for <c>txt.exe</c>.
    /// </summary>
    private static string Shown(string cell)
    {
        if (!cell.Any(NeedsEscape))
        {
            return cell;
        }
        var shown = new StringBuilder(cell.Length + 8);
        foreach (var c in cell)
        {
            if (!NeedsEscape(c))
            {
                shown.Append(c);
            }
            else if (c <= '\xff')
            {
                shown.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                shown.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }
        return shown.ToString();
    }

    private static bool NeedsEscape(char c) => char.IsControl(c) || c is (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069');
}
