using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Runbox.Storage.Jobs;

/// <summary>
/// The opaque position in the jobs list (newest first): the last row's creation time and id, so paging is stable
/// while new jobs arrive. Both backends use this format, so a cursor survives a switch of node.
/// </summary>
public readonly record struct JobCursor(DateTimeOffset CreatedAt, string Id)
{
    public string Encode()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{CreatedAt.UtcTicks}|{Id}");
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
    }

    /// <exception cref="ArgumentException">The cursor was not made by <see cref="Encode"/>.</exception>
    public static JobCursor Decode(string cursor) =>
        TryDecode(cursor, out var decoded) ? decoded : throw new ArgumentException("The cursor is not one this store returned.", nameof(cursor));

    /// <summary>Whether <paramref name="cursor"/> was made by <see cref="Encode"/>: what the API checks before a store sees it.</summary>
    public static bool TryDecode(string cursor, out JobCursor decoded)
    {
        decoded = default;
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar > 0 && long.TryParse(text.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
            {
                decoded = new JobCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..]);
                return true;
            }
        }
        catch (FormatException)
        {
        }
        catch (ArgumentOutOfRangeException)
        {
        }
        return false;
    }
}
