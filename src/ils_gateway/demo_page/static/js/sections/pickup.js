// A pickup-library chooser: the tenant's libraries, a bookmobile's stations grouped under it.
import { h, uid } from '../dom.js';

export function pickupChooser(libraries, { label, selected = null, name = 'pickup_library' }) {
  const id = uid('pickup');
  const options = [];
  for (const library of libraries) {
    if (library.bookmobile_stations && library.bookmobile_stations.length) {
      options.push(h('optgroup', { label: library.name },
        library.bookmobile_stations.map((station) => h('option',
          { value: station.code, selected: station.code === selected }, station.name))));
    } else {
      options.push(h('option', { value: library.code, selected: library.code === selected },
        library.name));
    }
  }
  const select = h('select', { id, name }, options);
  return { select, element: h('div', { class: 'field' }, h('label', { for: id }, label), select) };
}

/** The name of a pickup library or bookmobile station code. */
export function pickupName(libraries, code) {
  for (const library of libraries) {
    if (library.code === code) return library.name;
    for (const station of library.bookmobile_stations || []) {
      if (station.code === code) return station.name;
    }
  }
  return code;
}
