// chainsts rule prelude: the Java and Rhino idioms ISAM rules use, built on
// natives from Go. It runs once per runtime, before the lockdown freezes
// every built-in and everything defined here.
(function (N) {
	'use strict';
	var G = globalThis;
	function def(o, k, v) {
		Object.defineProperty(o, k, { value: v, writable: true, configurable: true, enumerable: false });
	}

	// Java String methods on JavaScript strings: values from the API are
	// plain strings (so == and === against literals work) that also answer
	// the java.lang.String methods rules call.
	var sp = String.prototype;
	def(sp, 'equals', function (o) { return o != null && String(this) === String(o); });
	def(sp, 'equalsIgnoreCase', function (o) {
		return o != null && String(this).toLowerCase() === String(o).toLowerCase();
	});
	def(sp, 'matches', function (re) { return N.javaMatches(String(this), String(re)); });
	def(sp, 'contains', function (s) { return String(this).indexOf(String(s)) >= 0; });
	def(sp, 'isEmpty', function () { return String(this).length === 0; });
	def(sp, 'getBytes', function (cs) { return N.getBytes(String(this), cs); });
	def(sp, 'compareTo', function (o) {
		var a = String(this), b = String(o);
		return a < b ? -1 : (a > b ? 1 : 0);
	});
	def(sp, 'compareToIgnoreCase', function (o) {
		var a = String(this).toLowerCase(), b = String(o).toLowerCase();
		return a < b ? -1 : (a > b ? 1 : 0);
	});

	// x.length() in a rule is compiled to __jlen(x).
	def(G, '__jlen', function (x) {
		if (x == null) { throw new TypeError('Cannot call length() on ' + x); }
		var l = x.length;
		return typeof l === 'function' ? x.length() : l;
	});

	function JavaIterator(items) { def(this, '__items', items); def(this, '__i', 0); }
	JavaIterator.prototype.hasNext = function () { return this.__i < this.__items.length; };
	JavaIterator.prototype.next = function () {
		if (this.__i >= this.__items.length) { throw new Error('NoSuchElementException'); }
		return this.__items[this.__i++];
	};

	function sameValue(a, b) { return a === b || (a != null && b != null && String(a) === String(b) && typeof a === typeof b); }

	// java.util.ArrayList over a JavaScript array (kept in __list, which the
	// API reads when a list is passed as attribute values).
	function ArrayList(init) {
		if (!(this instanceof ArrayList)) { throw new TypeError('ArrayList must be called with new'); }
		def(this, '__list', []);
		if (init != null && typeof init === 'object') { this.addAll(init); }
	}
	function toJsArray(c) {
		if (c == null) { return []; }
		if (Array.isArray(c)) { return c; }
		if (Array.isArray(c.__list)) { return c.__list; }
		if (typeof c.toArray === 'function') { return c.toArray(); }
		if (typeof c.hasNext === 'function') { var out = []; while (c.hasNext()) { out.push(c.next()); } return out; }
		return Array.prototype.slice.call(c);
	}
	ArrayList.prototype = {
		constructor: ArrayList,
		add: function (i, v) {
			if (arguments.length > 1) { this.__list.splice(i, 0, v); return undefined; }
			N.cap(this.__list.length + 1);
			this.__list.push(i); return true;
		},
		addAll: function (c) { var a = toJsArray(c); N.cap(this.__list.length + a.length); for (var i = 0; i < a.length; i++) { this.__list.push(a[i]); } return a.length > 0; },
		get: function (i) {
			if (i < 0 || i >= this.__list.length) { throw new RangeError('IndexOutOfBoundsException: ' + i); }
			return this.__list[i];
		},
		set: function (i, v) { var old = this.get(i); this.__list[i] = v; return old; },
		size: function () { return this.__list.length; },
		isEmpty: function () { return this.__list.length === 0; },
		indexOf: function (v) { for (var i = 0; i < this.__list.length; i++) { if (sameValue(this.__list[i], v)) { return i; } } return -1; },
		contains: function (v) { return this.indexOf(v) >= 0; },
		remove: function (x) {
			if (typeof x === 'number') { this.get(x); return this.__list.splice(x, 1)[0]; }
			var i = this.indexOf(x); if (i < 0) { return false; } this.__list.splice(i, 1); return true;
		},
		clear: function () { this.__list.length = 0; },
		toArray: function () { return this.__list.slice(); },
		iterator: function () { return new JavaIterator(this.__list.slice()); },
		forEach: function (f) { this.__list.forEach(function (v) { f(v); }); },
		toString: function () { return '[' + this.__list.join(', ') + ']'; }
	};
	def(ArrayList.prototype, Symbol.iterator, function () { return this.__list.slice()[Symbol.iterator](); });

	// java.util.HashSet keeps insertion order (as LinkedHashSet does).
	function HashSet(init) {
		if (!(this instanceof HashSet)) { throw new TypeError('HashSet must be called with new'); }
		def(this, '__list', []);
		if (init != null && typeof init === 'object') { var a = toJsArray(init); for (var i = 0; i < a.length; i++) { this.add(a[i]); } }
	}
	HashSet.prototype = {
		constructor: HashSet,
		add: function (v) { if (this.contains(v)) { return false; } N.cap(this.__list.length + 1); this.__list.push(v); return true; },
		contains: function (v) { for (var i = 0; i < this.__list.length; i++) { if (sameValue(this.__list[i], v)) { return true; } } return false; },
		remove: function (v) { for (var i = 0; i < this.__list.length; i++) { if (sameValue(this.__list[i], v)) { this.__list.splice(i, 1); return true; } } return false; },
		size: function () { return this.__list.length; },
		isEmpty: function () { return this.__list.length === 0; },
		clear: function () { this.__list.length = 0; },
		toArray: function () { return this.__list.slice(); },
		iterator: function () { return new JavaIterator(this.__list.slice()); },
		forEach: function (f) { this.__list.forEach(function (v) { f(v); }); },
		addAll: function (c) { var a = toJsArray(c), ch = false; for (var i = 0; i < a.length; i++) { ch = this.add(a[i]) || ch; } return ch; },
		toString: function () { return '[' + this.__list.join(', ') + ']'; }
	};
	def(HashSet.prototype, Symbol.iterator, function () { return this.__list.slice()[Symbol.iterator](); });

	// java.util.HashMap keeps insertion order (as LinkedHashMap does); keys
	// compare as Java strings do.
	function HashMap(init) {
		if (!(this instanceof HashMap)) { throw new TypeError('HashMap must be called with new'); }
		def(this, '__map', new Map());
		if (init != null && typeof init === 'object' && init.__map instanceof Map) { this.putAll(init); }
	}
	function key(k) { return k == null ? k : (typeof k === 'object' ? String(k) : k); }
	function Entry(k, v) { this.k = k; this.v = v; }
	Entry.prototype.getKey = function () { return this.k; };
	Entry.prototype.getValue = function () { return this.v; };
	HashMap.prototype = {
		constructor: HashMap,
		put: function (k, v) {
			k = key(k);
			var old = this.__map.has(k) ? this.__map.get(k) : null;
			if (!this.__map.has(k)) { N.cap(this.__map.size + 1); }
			this.__map.set(k, v); return old;
		},
		get: function (k) { k = key(k); return this.__map.has(k) ? this.__map.get(k) : null; },
		getOrDefault: function (k, d) { k = key(k); return this.__map.has(k) ? this.__map.get(k) : d; },
		containsKey: function (k) { return this.__map.has(key(k)); },
		containsValue: function (v) { var found = false; this.__map.forEach(function (x) { if (sameValue(x, v)) { found = true; } }); return found; },
		remove: function (k) { k = key(k); var old = this.get(k); this.__map.delete(k); return old; },
		size: function () { return this.__map.size; },
		isEmpty: function () { return this.__map.size === 0; },
		clear: function () { this.__map.clear(); },
		putAll: function (m) { var self = this; m.__map.forEach(function (v, k) { self.put(k, v); }); },
		keySet: function () { return new HashSet(Array.from(this.__map.keys())); },
		values: function () { return new ArrayList(Array.from(this.__map.values())); },
		entrySet: function () { var out = new HashSet(); this.__map.forEach(function (v, k) { out.__list.push(new Entry(k, v)); }); return out; },
		forEach: function (f) { this.__map.forEach(function (v, k) { f(k, v); }); },
		toString: function () { var parts = []; this.__map.forEach(function (v, k) { parts.push(k + '=' + v); }); return '{' + parts.join(', ') + '}'; }
	};

	// new java.lang.String(x[, charset]) is a String object: == compares its
	// text, Java methods come from String.prototype, length() works through
	// __jlen. From bytes it decodes UTF-8.
	function JString(x, cs) {
		var s;
		if (x == null) { s = ''; }
		else if (Array.isArray(x)) { s = N.newString(x, cs); }
		else { s = String(x); }
		return new.target ? new String(s) : s;
	}
	JString.valueOf = function (x) { return String(x); };
	JString.format = function () { return N.unsupported('java.lang.String.format'); };

	function parseInteger(s, radix, name) {
		var str = String(s).trim(), r = radix == null ? 10 : radix;
		var ok = r === 10 ? /^[+-]?\d+$/.test(str) : r === 16 ? /^[+-]?[0-9a-fA-F]+$/.test(str) : false;
		if (!ok) { throw new Error('NumberFormatException: For input string: "' + s + '"'); }
		var n = parseInt(str, r);
		if (name === 'Integer' && (n > 2147483647 || n < -2147483648)) { throw new Error('NumberFormatException: For input string: "' + s + '"'); }
		return n;
	}
	var JInteger = {
		parseInt: function (s, r) { return parseInteger(s, r, 'Integer'); },
		valueOf: function (s) { return typeof s === 'number' ? s : parseInteger(s, 10, 'Integer'); },
		toString: function (n) { return String(n); },
		MAX_VALUE: 2147483647,
		MIN_VALUE: -2147483648
	};
	var JLong = {
		parseLong: function (s, r) { return parseInteger(s, r, 'Long'); },
		valueOf: function (s) { return typeof s === 'number' ? s : parseInteger(s, 10, 'Long'); },
		toString: function (n) { return String(n); }
	};
	var JBoolean = {
		parseBoolean: function (s) { return s != null && String(s).toLowerCase() === 'true'; },
		valueOf: function (s) { return typeof s === 'boolean' ? s : (s != null && String(s).toLowerCase() === 'true'); },
		toString: function (b) { return String(b); },
		TRUE: true,
		FALSE: false
	};
	var JSystem = {
		currentTimeMillis: function () { return Date.now(); },
		getProperty: function (k) { return N.unsupported('java.lang.System.getProperty'); },
		getenv: function (k) { return N.unsupported('java.lang.System.getenv'); },
		exit: function () { return N.unsupported('java.lang.System.exit'); }
	};
	var JArray = {
		newInstance: function (cls, n) {
			N.cap(n);
			var a = new Array(n);
			for (var i = 0; i < n; i++) { a[i] = null; }
			return a;
		}
	};
	function encoder(url, pad) {
		return {
			encodeToString: function (b) { return N.b64enc(b, url, pad); },
			encode: function (b) { return N.getBytes(N.b64enc(b, url, pad)); },
			withoutPadding: function () { return encoder(url, false); }
		};
	}
	function decoder(url) {
		return { decode: function (s) { return N.b64dec(Array.isArray(s) ? N.newString(s) : s, url); } };
	}
	var JBase64 = {
		getEncoder: function () { return encoder(false, true); },
		getUrlEncoder: function () { return encoder(true, true); },
		getMimeEncoder: function () { return N.unsupported('java.util.Base64.getMimeEncoder'); },
		getDecoder: function () { return decoder(false); },
		getUrlDecoder: function () { return decoder(true); },
		getMimeDecoder: function () { return decoder(false); }
	};
	var JUUID = {
		randomUUID: function () { var s = N.uuid(); return { toString: function () { return s; } }; }
	};

	// Reached only through instances: the lockdown freezes them too.
	N.hidden = [JavaIterator, Entry];

	N.defineClass('java.util.ArrayList', ArrayList);
	N.defineClass('java.util.LinkedList', function LinkedList(init) { return new ArrayList(init); });
	N.defineClass('java.util.HashMap', HashMap);
	N.defineClass('java.util.LinkedHashMap', function LinkedHashMap(init) { return new HashMap(init); });
	N.defineClass('java.util.HashSet', HashSet);
	N.defineClass('java.util.LinkedHashSet', function LinkedHashSet(init) { return new HashSet(init); });
	N.defineClass('java.util.Base64', JBase64);
	N.defineClass('java.util.UUID', JUUID);
	N.defineClass('java.lang.String', JString);
	N.defineClass('java.lang.Integer', JInteger);
	N.defineClass('java.lang.Long', JLong);
	N.defineClass('java.lang.Boolean', JBoolean);
	N.defineClass('java.lang.System', JSystem);
	N.defineClass('java.lang.reflect.Array', JArray);
})(__native);
