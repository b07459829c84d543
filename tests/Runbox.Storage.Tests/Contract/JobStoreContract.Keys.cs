using Runbox.Storage.Keys;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    [SkippableFact]
    public async Task FindKey_ReturnsKey_UntilRevoked()
    {
        await using var store = await NewStoreAsync();
        var key = new ApiKeyRecord { Id = "key_1", Name = "ci", Hash = new string('a', 64), IsAdmin = true, CreatedAt = TestJobs.Epoch };
        var other = new ApiKeyRecord { Id = "key_2", Name = "other", Hash = new string('b', 64), CreatedAt = TestJobs.Epoch.AddSeconds(1) };
        await store.InsertKeyAsync(key);
        await store.InsertKeyAsync(other);

        Assert.Equal(key, await store.FindKeyAsync(key.Hash));
        Assert.Null(await store.FindKeyAsync(new string('c', 64)));

        Assert.True(await store.RevokeKeyAsync(key.Id));
        Assert.True(await store.RevokeKeyAsync(key.Id));
        Assert.False(await store.RevokeKeyAsync("key_missing"));

        Assert.Null(await store.FindKeyAsync(key.Hash));
        Assert.Equal(other, await store.FindKeyAsync(other.Hash));
        var listed = await store.ListKeysAsync();
        Assert.Equal(["key_1", "key_2"], listed.Select(k => k.Id));
        Assert.Equal(Time.GetUtcNow(), listed[0].RevokedAt);
        Assert.Null(listed[1].RevokedAt);
    }
}
