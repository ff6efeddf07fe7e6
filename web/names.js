// Player names: validation, generation and persistence across reloads.
(function (ui) {
  "use strict";

  const storageKey = "stadium.name";
  // Names become subject segments (/answer/<name>), so only subject-safe characters.
  const namePattern = /^[A-Za-z0-9_-]{1,32}$/;

  function problemWith(name) {
    if (name.length === 0) return "Please enter a name.";
    if (name.length > 32) return "A name can have at most 32 characters.";
    if (!namePattern.test(name)) {
      return "Use only letters A-Z, a-z, digits, '_' or '-' (no spaces or accents).";
    }
    return null;
  }

  function generated() {
    return "player-" + String(1000 + Math.floor(Math.random() * 9000));
  }

  function readStored() {
    try {
      return window.localStorage.getItem(storageKey);
    } catch (error) {
      // Private modes may forbid storage; a fresh name each visit is still playable.
      return null;
    }
  }

  function store(name) {
    try {
      window.localStorage.setItem(storageKey, name);
    } catch (error) {
      // Same as above: the name just will not survive a reload.
    }
  }

  function initial() {
    const stored = readStored();
    if (stored !== null && problemWith(stored) === null) return stored;
    const name = generated();
    store(name);
    return name;
  }

  ui.names = { problemWith, initial, store };
})(window.StadiumUI = window.StadiumUI || {});
