importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

var cache = IDMappingExtUtils.getIDMappingExtCache();
var key = "session:" + stsuu.getPrincipalName();
cache.put(key, "seen-once", 60);
var exists = cache.exists(key);
var value = cache.get(key);
var taken = cache.getAndRemove(key);
var after = cache.get(key);
stsuu.addContextAttribute(new Attribute("cache", "urn:test:cache", [String(exists), value, taken, String(after)]));
